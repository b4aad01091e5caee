"""ASL101 unawaited-coroutine: a call proven to make a coroutine, whose coroutine is thrown away."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import Assignment, Scope

from asynclint.rule import COROUTINE_DEF, Example, Fix, Rule, Safety
from asynclint.semantics import LIBRARY_COROUTINES, rewrite

if TYPE_CHECKING:
    from asynclint.semantics import Context

#: decorators that return the very function they decorate: it stays a coroutine function
_KEEPING_DECORATORS = frozenset(
    {
        "builtins.staticmethod",
        "builtins.classmethod",
        "abc.abstractmethod",
        "typing.final",
        "typing_extensions.final",
        "typing.override",
        "typing_extensions.override",
        "typing.no_type_check",
        # an overload stub is replaced by the implementation that follows, itself checked
        "typing.overload",
        "typing_extensions.overload",
    }
)
#: pytest marks record themselves on the function or class and return it
_KEEPING_PREFIXES = ("pytest.mark.",)
#: decorator factories whose decorator keeps the coroutine: ``functools.wraps(f)`` returns the
#: function itself; ``deprecated(msg)`` a wrapper that returns the function's own call result
_KEEPING_FACTORIES = frozenset({"functools.wraps", "warnings.deprecated", "typing_extensions.deprecated"})
#: class decorators that return the class with its methods untouched
_KEEPING_CLASS_DECORATORS = frozenset(
    {
        "dataclasses.dataclass",
        "typing.final",
        "typing_extensions.final",
        "typing.runtime_checkable",
        "typing_extensions.runtime_checkable",
        "functools.total_ordering",
        "enum.unique",
        *(f"{m}.{d}" for m in ("attr", "attrs") for d in ("s", "attrs", "define", "frozen", "mutable")),
    }
)
_PLAIN_METACLASSES = frozenset({"builtins.type", "abc.ABCMeta"})
#: calls that may replace an attribute named by a string (``setattr(obj, "m", v)``,
#: ``patch.object(Cls, "m")``, ``patch("pkg.mod.f")``, ``monkeypatch.setattr``, ``patch.multiple(Cls, m=...)``)
_PATCHERS = frozenset({"setattr", "patch", "object", "multiple"})
_MAX_DEPTH = 6
_INSTEAD = {
    "asyncio": "`await` it, or run it concurrently with `asyncio.create_task(...)` and keep the task",
    "trio": "`await` it, or run it concurrently with `nursery.start_soon(...)`",
    "anyio": "`await` it, or run it concurrently with `task_group.start_soon(...)`",
}


class UnawaitedCoroutine(Rule):
    """Checks for calls whose result is thrown away (an expression statement) and that are proven
    to create a coroutine: a library coroutine (`asyncio.sleep`, `asyncio.wait_for`,
    `trio.open_file`, `trio.lowlevel.checkpoint`, `anyio.connect_tcp`, an `asyncio.Queue`'s
    `get`/`put`, a trio nursery's or anyio task group's `start`, ...), or a coroutine function of
    the module: an `async def` called by name, a method called as `self.method()` /
    `cls.method()` from a method of its class, or through a class of the module
    (`Client.fetch()`). Also a coroutine used directly as an `async with` context manager
    (`async with trio.open_file(p) as f:`, which raises `TypeError`: it needs `await`).

    The library table holds every coroutine function and coroutine method of asyncio, trio and
    anyio: `tools/library_coroutines.py` reads them from the libraries themselves into
    `asynclint/data/library_coroutines.json` (a test fails when it is stale). A method counts when
    its object is known: built by the class or a factory (`trio.open_nursery()`) in the module or
    scope, or declared with the type (`nursery: trio.Nursery`).

    A function of the module is proven to be a coroutine function when every binding of its name
    is an `async def` (not an async generator) whose decorators all return it unchanged:
    `@staticmethod`, `@classmethod`, `@abstractmethod`, `@override`, `@final`, `@overload`,
    `@no_type_check`, pytest marks, `@functools.wraps(...)` and `@deprecated(...)` (whose wrapper
    returns the function's own coroutine). Any other decorator may make it something else (a test helper that
    runs the coroutine to completion, `async_to_sync`, a cache, a retry wrapper), so calls to it
    are not flagged. Nor are these, which are not proven either:

    - a name also bound to anything else in its scope: `f = wrap(f)` at module level or in the
      class body, a sync `def`, an import, a definition in another branch;
    - a method of a class with a class decorator other than `@dataclass`, `@final`,
      `@total_ordering`, `@unique`, attrs' `@define`/`@attr.s` and pytest marks, with a metaclass
      other than `ABCMeta`, or with other class keywords; or a method that a base class not
      defined in the module may define first (it comes earlier in the MRO);
    - `self.method()` / `cls.method()` when a subclass in the module binds the method to anything
      but such an `async def`, or has an imported base that comes first (`self` may be any
      subclass; subclasses in other modules are not seen), or when `self` is reassigned;
    - a name the module may replace at run time: assigned as an attribute anywhere
      (`self.fetch = Mock()`), named in a string passed to `setattr`, `patch`, `patch.object` or
      `monkeypatch.setattr` (`@patch.object(Client, "fetch")`, `@patch("asyncio.sleep")`), or a
      `patch.multiple` keyword;
    - an instance method called through its class without arguments (`Client.fetch()` or
      `cls.fetch()` raise `TypeError` before any coroutine exists);
    - a library method of an object (`queue.put(item)`) unless every assignment of the receiver
      builds a known object (`queue = asyncio.Queue()`).

    Names are resolved through scopes and imports. `await f()`, `asyncio.create_task(f())`, and
    passing or storing the coroutine (`x = f()`, `return f()`, `tasks.append(f())`) are not
    flagged. The call is flagged in sync code too, where it is just as dead.

    ## Why is this bad?
    Calling a coroutine function only creates a coroutine object; its body does not run until the
    coroutine is awaited or scheduled. A bare `f()` statement therefore does nothing at all, except
    print `RuntimeWarning: coroutine 'f' was never awaited` when the object is collected. The
    sleep does not sleep, the write does not happen, and no error points at the line.

    ## Fix safety
    The fix is safe: inside a coroutine body it adds the missing `await`, which makes the call do
    what it was written to do. It is not offered in sync code (or inside a generator expression),
    where an `await` is not allowed; there, call the coroutine from async code or run it with
    `asyncio.run`.
    """

    code = "ASL101"
    slug = "unawaited-coroutine"
    fix_safety = Safety.SAFE
    message = "`{call}(...)` creates a coroutine that is never awaited, so its body never runs; {instead}"
    with_message = (
        "`async with {call}(...)` uses the coroutine itself as the context manager, which fails with "
        "`TypeError` (a coroutine has no `__aenter__`); await it first: `async with await {call}(...)`"
    )
    # an async def of the module, or a library coroutine
    markers = (COROUTINE_DEF, b"asyncio", b"trio", b"anyio")
    gate = "unawaited"
    examples = (
        Example(
            """
            import asyncio

            async def save(record):
                await asyncio.sleep(0)

            async def handle(record):
                save(record)  # ASL101
                asyncio.sleep(1)  # ASL101
            """,
            fixed="""
            import asyncio

            async def save(record):
                await asyncio.sleep(0)

            async def handle(record):
                await save(record)  # ASL101
                await asyncio.sleep(1)  # ASL101
            """,
        ),
        Example(
            """
            import asyncio

            async def save(record):
                await asyncio.sleep(0)

            async def handle(record, pending):
                await save(record)
                task = asyncio.create_task(save(record))
                pending.append(save(record))
                return task
            """
        ),
        Example(
            """
            import asyncio

            from testing import run_async

            @run_async
            async def seed_database():
                await asyncio.sleep(0)

            def test_records():
                seed_database()  # an unknown decorator may run the coroutine itself
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        in_async_with = self._async_with_item(node)
        if not ctx.is_discarded(node) and not in_async_with:
            return
        shown = self._coroutine_name(node)
        if shown is None:
            return
        fix = None
        if rewrite.can_await_here(ctx):
            fix = Fix("Add `await`", Safety.SAFE, [(node, rewrite.awaited(ctx, node, node))], adds_await=True)
        library = shown.split(".", 1)[0]
        if in_async_with:
            self.ctx.add_finding(self, node, self.with_message.format(call=shown), fix)
            return
        self.report(node, fix=fix, call=shown, instead=_INSTEAD.get(library, _INSTEAD[ctx.library]))

    def _async_with_item(self, node: cst.Call) -> bool:
        """``async with trio.open_file(p) as f:``: the coroutine itself is used as the context
        manager (it has no ``__aenter__``), where its result was meant."""
        item = self.ctx.parent(node)
        block = self.ctx.parent(item) if isinstance(item, cst.WithItem) else None
        return isinstance(block, cst.With) and block.asynchronous is not None and item.item is node  # type: ignore[union-attr]

    def _coroutine_name(self, call: cst.Call) -> str | None:
        """How the message shows the callee, when the call is proven to create a coroutine."""
        func = call.func
        if isinstance(func, cst.Name):
            if self._is_module_coroutine(func):
                return func.value
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and (
            self._is_own_method(func, call) or self._is_class_method(func, call)
        ):
            return f"{func.value.value}.{func.attr.value}"
        names = self.ctx.callee_names(call)
        if names and names <= LIBRARY_COROUTINES and not names & self._replaced().dotted and self._receiver_known(func):
            shown = min(names)
            if "()" in shown:
                # a method of an inferred object: show it as written (``nursery.start``)
                return " ".join(self.ctx.module.code_for_node(func).split())
            return shown
        return None

    # -- functions and methods of the module ------------------------------------------------------
    def _is_module_coroutine(self, name: cst.Name) -> bool:
        """Every binding of the name where it is used is an ``async def`` that stays a coroutine function."""
        return self._all_coroutine_defs(self.ctx.definitions(name)) and name.value not in self._replaced().names

    def _is_own_method(self, func: cst.Attribute, call: cst.Call) -> bool:
        """``self.m()`` / ``cls.m()`` in a method, where ``m`` is an ``async def`` of that class and
        of every subclass of the module that may be ``self``."""
        assert isinstance(func.value, cst.Name)
        receiver = func.value.value
        ctx = self.ctx
        # find the method: the innermost function whose scope is directly inside a class; a nested
        # function or lambda may still see the method's ``self`` unless it rebinds the name
        for i in range(len(ctx.scopes) - 1, 0, -1):
            owner = ctx.scopes[i][0]
            if isinstance(owner, cst.ClassDef):
                return False
            if not isinstance(owner, (cst.FunctionDef, cst.Lambda)):
                return False
            params = owner.params
            positional = [*params.posonly_params, *params.params]
            outer = ctx.scopes[i - 1][0]
            if isinstance(owner, cst.FunctionDef) and isinstance(outer, cst.ClassDef):
                if (
                    not positional
                    or positional[0].name.value != receiver
                    or self._decorated_by(owner, "builtins.staticmethod")
                    or not all(isinstance(d, cst.Param) for d in ctx.definitions(func.value))  # ``self = other``
                ):
                    return False
                if not self._is_coroutine_method(outer, func.attr.value, any_subclass=True):
                    return False
                # ``cls.m()`` in a classmethod: an instance method needs its instance (TypeError)
                in_classmethod = self._decorated_by(owner, "builtins.classmethod")
                return not in_classmethod or self._callable_on_class(outer, func.attr.value, call)
            all_params = [*positional, *params.kwonly_params]
            if isinstance(params.star_arg, cst.Param):
                all_params.append(params.star_arg)
            if params.star_kwarg is not None:
                all_params.append(params.star_kwarg)
            if any(p.name.value == receiver for p in all_params):
                return False
        return False

    def _is_class_method(self, func: cst.Attribute, call: cst.Call) -> bool:
        """``Cls.m()`` where ``Cls`` is a class of this module and ``m`` an ``async def`` of it."""
        assert isinstance(func.value, cst.Name)
        definitions = self.ctx.definitions(func.value)
        if len(definitions) != 1 or not isinstance(definitions[0], cst.ClassDef):
            return False
        cls, name = definitions[0], func.attr.value
        return self._is_coroutine_method(cls, name, any_subclass=False) and self._callable_on_class(cls, name, call)

    def _callable_on_class(self, cls: cst.ClassDef, name: str, call: cst.Call) -> bool:
        """``Cls.m(...)`` gets to run: an instance method called on the class needs its instance as
        an argument (``Cls.m()`` raises TypeError before any coroutine exists)."""
        if call.args:
            return True
        bindings = self._lookup_method(cls, name, 0) or []
        return all(
            isinstance(b, cst.FunctionDef)
            and (self._decorated_by(b, "builtins.staticmethod") or self._decorated_by(b, "builtins.classmethod"))
            for b in bindings
        )

    def _is_coroutine_method(self, cls: cst.ClassDef, name: str, any_subclass: bool) -> bool:
        """``name`` looked up on ``cls`` (and, with ``any_subclass``, on every subclass of the
        module, since ``self`` may be one of them) finds only ``async def``s that stay coroutine functions."""
        if not self._all_coroutine_defs(self._lookup_method(cls, name, 0) or []):
            return False
        if any_subclass and not all(
            self._all_coroutine_defs(self._lookup_method(c, name, 0) or []) for c in self._subclasses_of(cls)
        ):
            return False
        return name not in self._replaced().names

    def _lookup_method(self, cls: cst.ClassDef, name: str, depth: int) -> list[cst.CSTNode] | None:
        """The bindings ``name`` finds on ``cls``: its own bindings in the class body, else those
        of the first base class of the module (in MRO order) that binds it. None when not found,
        when a base class that comes first is not a class of this module (it may define the name),
        or when a class on the way is not known to keep its methods as written."""
        if depth > _MAX_DEPTH or not self._keeps_methods(cls):
            return None
        own = _class_bindings(self.ctx, cls, name)
        if own:
            return own
        for base in cls.bases:
            if base.star or not isinstance(base.value, cst.Name):
                return None
            if "builtins.object" in self.ctx.qualified_names(base.value):
                continue
            classes = [d for d in self.ctx.definitions(base.value) if isinstance(d, cst.ClassDef)]
            if len(classes) != 1:
                return None
            found = self._lookup_method(classes[0], name, depth + 1)
            if found is not None:
                return found
        return None

    def _keeps_methods(self, cls: cst.ClassDef) -> bool:
        """No class decorator, metaclass or class keyword of ``cls`` may rewrite its methods."""
        for decorator in cls.decorators:
            expr = decorator.decorator
            names = self.ctx.expr_names(expr.func if isinstance(expr, cst.Call) else expr)
            if not names or not all(
                n in _KEEPING_CLASS_DECORATORS or n.startswith(_KEEPING_PREFIXES) for n in names
            ):
                return False
        for keyword in cls.keywords:
            if keyword.keyword is None or keyword.keyword.value != "metaclass":
                return False  # ``**options``, or handed to a base's ``__init_subclass__`` or the metaclass
            names = self.ctx.expr_names(keyword.value)
            if not names or not names <= _PLAIN_METACLASSES:
                return False
        return True

    def _subclasses_of(self, cls: cst.ClassDef) -> list[cst.ClassDef]:
        """Every class of the module that derives from ``cls``, directly or not."""
        direct: dict[cst.ClassDef, list[cst.ClassDef]]
        direct = self.ctx.memo("asl101-subclasses", self._direct_subclasses)  # type: ignore[assignment]
        out: list[cst.ClassDef] = []
        todo = list(direct.get(cls, ()))
        while todo:
            sub = todo.pop()
            if sub not in out:
                out.append(sub)
                todo.extend(direct.get(sub, ()))
        return out

    def _direct_subclasses(self) -> dict[cst.ClassDef, list[cst.ClassDef]]:
        ctx = self.ctx
        direct: dict[cst.ClassDef, list[cst.ClassDef]] = {}

        class _Classes(cst.CSTVisitor):
            def visit_ClassDef(self, node: cst.ClassDef) -> None:
                for base in node.bases:
                    if isinstance(base.value, cst.Name):
                        for d in ctx.definitions(base.value):
                            if isinstance(d, cst.ClassDef):
                                direct.setdefault(d, []).append(node)

        ctx.module.visit(_Classes())
        return direct

    def _all_coroutine_defs(self, bindings: list[cst.CSTNode]) -> bool:
        return bool(bindings) and all(self._stays_coroutine_function(b) for b in bindings)

    def _stays_coroutine_function(self, node: cst.CSTNode) -> bool:
        """An ``async def`` (not an async generator) whose decorators all keep it a coroutine function."""
        if not isinstance(node, cst.FunctionDef) or node.asynchronous is None:
            return False
        if self.ctx.memo(f"asl101-generator:{id(node)}", lambda: _is_generator(node)):
            return False
        for decorator in node.decorators:
            expr = decorator.decorator
            if isinstance(expr, cst.Call):
                names, known = self.ctx.expr_names(expr.func), _KEEPING_FACTORIES
            else:
                names, known = self.ctx.expr_names(expr), _KEEPING_DECORATORS
            if not names or not all(n in known or n.startswith(_KEEPING_PREFIXES) for n in names):
                return False
        return True

    def _decorated_by(self, func: cst.FunctionDef, qualified: str) -> bool:
        return any(qualified in self.ctx.expr_names(d.decorator) for d in func.decorators)

    def _replaced(self) -> _Replaced:
        """What the module may rebind behind the definition's back."""
        return self.ctx.memo("asl101-replaced", lambda: _replaced_names(self.ctx))  # type: ignore[return-value]

    # -- library objects ---------------------------------------------------------------------------
    def _receiver_known(self, func: cst.BaseExpression) -> bool:
        """For a method of an object (``queue.put``), every assignment of the receiver builds a
        known object: a name also bound by a parameter, a loop or an unknown call is not proven."""
        if not isinstance(func, cst.Attribute):
            return True
        receiver = func.value
        ctx = self.ctx
        if isinstance(receiver, cst.Name):
            if ctx.qualified_names(receiver):
                return True  # a module (``asyncio.sleep``)
            values = ctx.bound_values(receiver)
            definitions = ctx.definitions(receiver)
            if len(ctx.annotations(receiver)) == len(definitions):
                return True  # every binding declares its type (``nursery: trio.Nursery``)
            return len(values) == len(definitions) and all(ctx.instance_names(v) for v in values)
        if isinstance(receiver, cst.Attribute) and isinstance(receiver.value, cst.Name):
            if ctx.qualified_names(receiver):
                return True  # a module attribute (``trio.to_thread.run_sync``)
            values = ctx.self_attribute_values(receiver.value, receiver.attr.value)
            return bool(values) and all(ctx.instance_names(v) for v in values)
        return True


def _class_bindings(ctx: Context, cls: cst.ClassDef, name: str) -> list[cst.CSTNode]:
    """Every binding of ``name`` in the class body: definitions, assignments, imports, in any branch."""
    scope = ctx.scope_of(cls.body.body[0]) if cls.body.body else None
    if not isinstance(scope, Scope) or name not in scope.assignments:
        return []
    return [a.node for a in scope.assignments[name] if isinstance(a, Assignment)]


def _is_generator(func: cst.FunctionDef) -> bool:
    """The function's own body yields (an ``async def`` with ``yield`` is an async generator)."""

    class _Yields(cst.CSTVisitor):
        found = False

        def visit_Yield(self, node: cst.Yield) -> bool:
            self.found = True
            return False

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

    finder = _Yields()
    func.body.visit(finder)
    return finder.found


@dataclass(frozen=True)
class _Replaced:
    #: attribute names the module assigns or patches, on whatever object
    names: frozenset[str]
    #: the same, as qualified names where the object is resolved (``asyncio.sleep``)
    dotted: frozenset[str]


def _replaced_names(ctx: Context) -> _Replaced:
    """What the module may replace at run time: attribute targets (``obj.fetch = Mock()``,
    ``del obj.fetch``), names given as strings to ``setattr``, ``patch``, ``patch.object``,
    ``monkeypatch.setattr`` (``"pkg.mod.fetch"`` names ``fetch``), ``patch.multiple`` keywords."""
    names: set[str] = set()
    dotted: set[str] = set()

    def targets(expr: cst.BaseExpression) -> None:
        if isinstance(expr, cst.Attribute):
            names.add(expr.attr.value)
            dotted.update(ctx.qualified_names(expr))
        elif isinstance(expr, (cst.Tuple, cst.List)):
            for element in expr.elements:
                targets(element.value)
        elif isinstance(expr, cst.StarredElement):
            targets(expr.value)

    class _Replacements(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            targets(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            targets(node.target)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            targets(node.target)

        def visit_Del(self, node: cst.Del) -> None:
            targets(node.target)

        def visit_For(self, node: cst.For) -> None:
            targets(node.target)

        def visit_AsName(self, node: cst.AsName) -> None:
            targets(node.name)

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            targets(node.target)

        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if isinstance(func, cst.Attribute):
                callee = func.attr.value
            elif isinstance(func, cst.Name):
                callee = func.value
            else:
                return
            if callee not in _PATCHERS:
                return
            # ``patch.object(asyncio, "sleep")``: the object the string names an attribute of
            owners = ctx.qualified_names(node.args[0].value) if node.args else set()
            for arg in node.args:
                if arg.keyword is not None:
                    if callee == "multiple":
                        names.add(arg.keyword.value)
                elif isinstance(arg.value, cst.SimpleString):
                    value = arg.value.evaluated_value
                    if isinstance(value, str):
                        names.add(value.rsplit(".", 1)[-1])
                        dotted.add(value)
                        dotted.update(f"{owner}.{value}" for owner in owners)
                elif isinstance(arg.value, cst.FormattedString) and arg.value.parts:
                    # ``patch(f"{__name__}.fetch")``: the literal tail names the attribute
                    last = arg.value.parts[-1]
                    if isinstance(last, cst.FormattedStringText):
                        names.add(last.value.rsplit(".", 1)[-1])

    ctx.module.visit(_Replacements())
    return _Replaced(frozenset(names), frozenset(dotted))
