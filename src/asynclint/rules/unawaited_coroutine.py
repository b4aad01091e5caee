"""ASL101 unawaited-coroutine: a coroutine function called and its coroutine thrown away."""
from __future__ import annotations

import libcst as cst

from asynclint.rule import COROUTINE_DEF, Example, Fix, Rule, Safety
from asynclint.semantics import LIBRARY_COROUTINES, rewrite

#: decorators that turn an ``async def`` into something that is not a coroutine function
_NOT_COROUTINE_DECORATORS = frozenset(
    {
        "builtins.property",
        "functools.cached_property",
        "asgiref.sync.async_to_sync",
        "asyncer.syncify",
        "unsync.unsync",
        "syncer.sync",
    }
)
_INSTEAD = {
    "asyncio": "`await` it, or run it concurrently with `asyncio.create_task(...)` and keep the task",
    "trio": "`await` it, or run it concurrently with `nursery.start_soon(...)`",
    "anyio": "`await` it, or run it concurrently with `task_group.start_soon(...)`",
}


class UnawaitedCoroutine(Rule):
    """Checks for calls to coroutine functions whose result is thrown away: an expression
    statement calling an `async def` of the same module, a method of the enclosing class called
    as `self.method()` / `cls.method()` that is an `async def` there (or in a base class defined in
    the module), an `async def` method called through a class of the module (`Client.fetch()`),
    or a known library coroutine
    (`asyncio.sleep`, `asyncio.wait_for`, `asyncio.open_connection`, `trio.sleep`, an
    `asyncio.Queue`'s `get`/`put`, ...).

    Names are resolved through scopes and imports: a sync `def` or an assignment that shadows the
    coroutine function means the call is not a coroutine. `await f()`, `asyncio.create_task(f())`,
    and passing or storing the coroutine (`x = f()`, `return f()`, `tasks.append(f())`) are not
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
    # an async def of the module, or a library coroutine
    markers = (COROUTINE_DEF, b"asyncio", b"trio", b"anyio")
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
    )

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        if not ctx.is_discarded(node):
            return
        shown = self._coroutine_name(node)
        if shown is None:
            return
        fix = None
        if rewrite.can_await_here(ctx):
            fix = Fix("Add `await`", Safety.SAFE, [(node, rewrite.awaited(ctx, node, node))], adds_await=True)
        library = shown.split(".", 1)[0]
        self.report(node, fix=fix, call=shown, instead=_INSTEAD.get(library, _INSTEAD[ctx.library]))

    def _coroutine_name(self, call: cst.Call) -> str | None:
        func = call.func
        if isinstance(func, cst.Name):
            if self._is_local_coroutine(func):
                return func.value
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and (
            self._is_own_method(func) or self._is_class_method(func)
        ):
            return f"{func.value.value}.{func.attr.value}"
        names = sorted(self.ctx.callee_names(call) & LIBRARY_COROUTINES)
        if names:
            return names[0].replace("()", "(...)")
        return None

    def _is_local_coroutine(self, name: cst.Name) -> bool:
        """Every binding of the name where it is used is an ``async def`` that stays a coroutine function."""
        definitions = self.ctx.definitions(name)
        return bool(definitions) and all(
            isinstance(d, cst.FunctionDef) and d.asynchronous is not None and not self._converted(d) for d in definitions
        )

    def _converted(self, func: cst.FunctionDef) -> bool:
        for decorator in func.decorators:
            expr = decorator.decorator
            target = expr.func if isinstance(expr, cst.Call) else expr
            if self.ctx.expr_names(target) & _NOT_COROUTINE_DECORATORS:
                return True
        return False

    def _is_own_method(self, func: cst.Attribute) -> bool:
        """``self.m()`` / ``cls.m()`` in a method, where ``m`` is an ``async def`` of that class."""
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
                if not positional or positional[0].name.value != receiver:
                    return False
                method = self._lookup_method(outer, func.attr.value, 0)
                return isinstance(method, cst.FunctionDef) and method.asynchronous is not None and not self._converted(method)
            all_params = [*positional, *params.kwonly_params]
            if isinstance(params.star_arg, cst.Param):
                all_params.append(params.star_arg)
            if params.star_kwarg is not None:
                all_params.append(params.star_kwarg)
            if any(p.name.value == receiver for p in all_params):
                return False
        return False

    def _is_class_method(self, func: cst.Attribute) -> bool:
        """``Cls.m()`` where ``Cls`` is a class of this module and ``m`` an ``async def`` of it."""
        assert isinstance(func.value, cst.Name)
        definitions = self.ctx.definitions(func.value)
        if len(definitions) != 1 or not isinstance(definitions[0], cst.ClassDef):
            return False
        method = self._lookup_method(definitions[0], func.attr.value, 0)
        return isinstance(method, cst.FunctionDef) and method.asynchronous is not None and not self._converted(method)

    def _lookup_method(self, cls: cst.ClassDef, name: str, depth: int) -> cst.CSTNode | None:
        """The binding ``name`` finds on ``cls``: its own last binding, else the first base class of
        the module (in MRO order) that binds it. None when not found, or when a base class that
        comes first is not a class of this module (it may define the name)."""
        own = _class_binding(cls, name)
        if own is not None or depth > 5:
            return own
        for base in cls.bases:
            if base.keyword is not None:
                continue
            if not isinstance(base.value, cst.Name):
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


def _class_binding(cls: cst.ClassDef, name: str) -> cst.CSTNode | None:
    """The last statement directly in the class body that binds ``name``."""
    last: cst.CSTNode | None = None
    for stmt in cls.body.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
            last = stmt
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                targets: list[cst.BaseExpression] = []
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)) and getattr(small, "value", None) is not None:
                    targets = [small.target]
                if any(isinstance(t, cst.Name) and t.value == name for t in targets):
                    last = small
    return last
