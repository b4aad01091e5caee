"""ASL100 async-without-await: an ``async def`` that never suspends, where that costs something or
where dropping ``async`` is a complete change. The broad style check lives on as ASL104."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import libcst as cst

from asynclint.rule import COROUTINE_DEF, Example, Fix, Rule, Safety
from asynclint.semantics.blocking import classify_call
from asynclint.semantics.frameworks import (
    Registration,
    decorator_registration,
    handler_registration,
)

#: decorators whose ``async def`` must stay ``async`` whatever its body does
_EXEMPT_DECORATORS = frozenset(
    {
        "abc.abstractmethod",
        "abc.abstractclassmethod",
        "abc.abstractstaticmethod",
        "typing.overload",
        "typing_extensions.overload",
        "typing.override",
        "typing_extensions.override",
        "contextlib.asynccontextmanager",
    }
)
_FIXTURE_DECORATORS = frozenset({"pytest.fixture", "pytest_asyncio.fixture"})
#: decorators that hand the function to nobody: the function stays ours
_PLAIN_DECORATORS = frozenset({"builtins.staticmethod", "builtins.classmethod"})
_ASYNC_LIBRARIES = frozenset({"asyncio", "trio", "anyio"})
#: frameworks that run a plain ``def`` handler on a thread pool (RULES.md: the fix applies to these)
_POOLED_FRAMEWORKS = frozenset({"Azure Functions", "FastAPI", "Starlette"})
#: methods that ``async with`` / ``async for`` await: they must stay coroutines, await or not
_ASYNC_PROTOCOL = frozenset({"__aenter__", "__aexit__", "__anext__"})


@dataclass
class _Candidate:
    func: cst.FunctionDef
    #: exempt from the broad check too (abstract, overload, protocol method, inherited interface, ...)
    exempt: bool
    registration: Registration | None
    #: every decorator registers the function with a pooled framework (no wrapper expecting a coroutine)
    only_registrations: bool
    #: the class the function is a method of (None: module level or nested in a function)
    owner: cst.ClassDef | None
    nested: bool
    awaits: bool = False
    #: the body calls the async library (``asyncio.create_task``, ``get_running_loop``): needs the loop thread
    uses_loop: bool = False
    #: blocking calls (ASL2xx) in the function's own body, in source order: (call, how it is shown)
    blocking: list[tuple[cst.Call, str]] = field(default_factory=list)


class AsyncWithoutAwait(Rule):
    """Checks for `async def` functions that never suspend (no `await`, `async for`, `async with`
    or `yield` in their own body) where that is worth acting on: a framework endpoint that would
    run on a thread pool as a plain `def` but makes blocking calls on the event loop instead, or a
    private coroutine whose every use in the module awaits it directly, so that dropping `async`
    is a complete change.

    The two cases:

    - **Endpoints that block.** An Azure Functions, FastAPI or Starlette handler (registered by
      the framework's decorators only, not a websocket) whose body makes a blocking call (one of
      the ASL2xx calls: `time.sleep`, `requests.get`, `open`, a sync database client, ...) and
      never awaits. As a `def`, the framework would run it on its thread pool; as an `async def`,
      every request waits for it on the event loop. Endpoints that do nothing blocking are not
      flagged: FastAPI itself advises `async def` for them, and the coroutine is the cheaper form.
      Not flagged either when the handler needs the running loop (it calls `asyncio`, `trio` or
      `anyio`) or when the module itself calls it (those callers need a coroutine).
    - **Private coroutines awaited only directly.** A function nested in another function, or a
      module-level function or method whose name starts with `_` (private by convention, so no
      other module calls it), that has no decorator other than `@staticmethod`/`@classmethod`,
      and whose name occurs in the module only in `await name(...)` / `await self.name(...)` /
      `await cls.name(...)` calls (at least one). Any other use (passed as a callback, stored,
      returned, named in a string, handed to `asyncio.gather` as a coroutine) means someone else
      needs the coroutine. Methods of classes with a base class are skipped (the base may call
      them), and so are coroutines that call `asyncio`, `trio` or `anyio` (`get_running_loop()`,
      `create_task(...)`): being a coroutine documents that they need the running loop.

    Never flagged: functions handed to anyone else (any other decorator, passed, stored, returned,
    exported under a public name), overrides and protocol implementations (`__aenter__`,
    `__aexit__`, `__anext__`, methods of classes with outside bases), async tests and fixtures,
    stub bodies (a docstring, `pass`, `...`, `raise NotImplementedError`), `@abstractmethod`,
    `@overload`, `@override`, `@asynccontextmanager` and the decorators in `async-decorators`. The
    broad "every `async def` that never suspends" check is ASL104, off by default.

    ## Why is this bad?
    A coroutine that never suspends runs from start to end in one step of the event loop. In an
    endpoint that blocks, that step stalls every other request of the process, while a `def`
    endpoint would have run on the framework's thread pool. A private coroutine that is only ever
    awaited directly costs an `await` at every call and hides that its work is synchronous; as a
    `def` it says what it does.

    ## Fix safety
    The fix is unsafe. For an endpoint it removes `async`, so the framework runs the handler on
    its worker thread pool instead of the event loop: code that was safe on the single event-loop
    thread may race on the pool (the fix is dropped when it would add a finding of another rule,
    such as an ASL3xx race). It is withdrawn when another fix adds an `await` to the same function
    (an ASL2xx thread wrapper): the function must then stay `async`. For a private coroutine it
    removes `async` and the `await` of every call site in the module, which keeps what the code
    does (the body ran at the `await` before and runs at the call now, the same moment); it is
    unsafe because a subclass elsewhere could override the method with a coroutine.

    ## Options
    `async-decorators`: qualified names of decorators whose functions must stay `async`
    (`["myapp.tasks.register"]`); they matter for ASL104, since ASL100 skips every decorated
    function that is not an endpoint.
    """

    code = "ASL100"
    slug = "async-without-await"
    fix_safety: ClassVar[Safety | None] = Safety.UNSAFE
    message = "`async def {name}` never awaits: {advice}"
    markers = ()
    requires = COROUTINE_DEF
    gate: ClassVar[str | None] = "no-await"
    examples = (
        Example(
            """
            import time

            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/report")
            async def report(day: str) -> dict:  # ASL100
                time.sleep(2)
                return {"day": day}

            async def _total(prices):  # ASL100
                return sum(prices)

            async def checkout(prices):
                return await _total(prices)
            """,
            fixed="""
            import time

            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/report")
            def report(day: str) -> dict:  # ASL100
                time.sleep(2)
                return {"day": day}

            def _total(prices):  # ASL100
                return sum(prices)

            async def checkout(prices):
                return _total(prices)
            """,
        ),
        Example(
            """
            import asyncio

            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/health")
            async def health() -> dict:
                return {"ok": True}

            async def on_message(message):
                return message.upper()

            def subscribe(bus):
                bus.on("message", on_message)

            async def _placeholder():
                return None

            async def gather_all(jobs):
                return await asyncio.gather(*jobs, _placeholder())
            """
        ),
    )

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self._open: dict[int, _Candidate] = {}
        self._done: list[_Candidate] = []
        #: FunctionDef nodes (by identity) that the module calls by name
        self._called: set[int] = set()
        #: name -> the ``await name(...)`` / ``await recv.name(...)`` expressions of the module
        self._awaited: dict[str, list[cst.Await]] = {}

    # -- bookkeeping -------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is None:
            return
        ctx = self.ctx
        registration = handler_registration(ctx, node)
        only = registration is not None and all(
            (r := decorator_registration(ctx, node.with_changes(decorators=[d]))) is not None
            and r.framework in _POOLED_FRAMEWORKS
            for d in node.decorators
        )
        owner = ctx.scopes[-1][0] if ctx.scopes else None
        self._open[id(node)] = _Candidate(
            node,
            self._exempt(node),
            registration,
            only,
            owner if isinstance(owner, cst.ClassDef) else None,
            nested=isinstance(owner, (cst.FunctionDef, cst.Lambda)),
        )

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        candidate = self._open.pop(id(original_node), None)
        if candidate is not None and not candidate.awaits and not _is_stub(self, original_node):
            self._done.append(candidate)

    def _mark(self, node: cst.CSTNode) -> None:
        """``node`` suspends the function whose body runs it: found through the parents, since a
        nested function's default values and decorators run in the enclosing function, and a
        generator expression's body (all but its first iterable) runs later, when something
        iterates it, not where it is written."""
        ctx = self.ctx
        child, parent = node, ctx.parent(node)
        while parent is not None:
            if isinstance(parent, (cst.FunctionDef, cst.Lambda)) and child is parent.body:
                break
            if isinstance(parent, cst.GeneratorExp) and not _in_first_iterable(ctx, parent, node):
                return  # lazy: ``return (await x async for x in gen())`` suspends nothing here
            child, parent = parent, ctx.parent(parent)
        if isinstance(parent, cst.FunctionDef):
            candidate = self._open.get(id(parent))
            if candidate is not None:
                candidate.awaits = True

    def visit_Await(self, node: cst.Await) -> None:
        self._mark(node)
        call = node.expression
        if isinstance(call, cst.Call):
            if isinstance(call.func, cst.Name):
                self._awaited.setdefault(call.func.value, []).append(node)
            elif isinstance(call.func, cst.Attribute):
                self._awaited.setdefault(call.func.attr.value, []).append(node)

    def visit_Yield(self, node: cst.Yield) -> None:
        self._mark(node)

    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is not None:
            self._mark(node)

    def visit_With(self, node: cst.With) -> None:
        if node.asynchronous is not None:
            self._mark(node)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if node.asynchronous is not None:
            self._mark(node)

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        func = ctx.current_function
        candidate = self._open.get(id(func)) if func is not None else None
        if candidate is not None:
            if not candidate.uses_loop:
                candidate.uses_loop = any(n.split(".", 1)[0] in _ASYNC_LIBRARIES for n in ctx.callee_names(node))
            if candidate.registration is not None and not ctx.is_awaited(node):
                found = classify_call(ctx, node)
                if found is not None and found[0].code.startswith("ASL2"):
                    candidate.blocking.append((node, found[1]))
        if isinstance(node.func, cst.Name):
            for definition in ctx.definitions(node.func):
                if isinstance(definition, cst.FunctionDef):
                    self._called.add(id(definition))

    def leave_Module(self, original_node: cst.Module) -> None:
        for candidate in self._done:
            self.decide(candidate)

    # -- decisions ---------------------------------------------------------------------------
    def decide(self, candidate: _Candidate) -> None:
        """Report ``candidate`` when it is one of ASL100's two cases (ASL104 overrides this)."""
        if self._blocking_endpoint(candidate):
            self._report_endpoint(candidate)
            return
        awaits = self._awaited_only(candidate)
        if awaits is not None:
            self._report_private(candidate, awaits)

    def is_reported_here(self, candidate: _Candidate) -> bool:
        return self._blocking_endpoint(candidate) or self._awaited_only(candidate) is not None

    def _blocking_endpoint(self, candidate: _Candidate) -> bool:
        registration = candidate.registration
        return (
            registration is not None
            and registration.framework in _POOLED_FRAMEWORKS
            and candidate.only_registrations
            and not _websocket(registration)
            and not candidate.uses_loop
            and bool(candidate.blocking)
            and id(candidate.func) not in self._called
        )

    def _report_endpoint(self, candidate: _Candidate) -> None:
        func = candidate.func
        registration = candidate.registration
        assert registration is not None
        call, shown = candidate.blocking[0]
        line = self.ctx.position_line(call)
        count = len(candidate.blocking)
        calls = (
            f"it calls `{shown}(...)` at line {line}, which blocks"
            if count == 1
            else f"it makes {count} blocking calls (the first, `{shown}(...)`, at line {line}), which block"
        )
        advice = (
            f"{calls} the event loop for every request; "
            f"make it a plain `def` so {registration.framework} runs it on its thread pool"
        )
        fix = Fix(
            f"Remove `async` so {registration.framework} runs `{func.name.value}` on its thread pool",
            Safety.UNSAFE,
            [(func, func.with_changes(asynchronous=None))],
        )
        self.report(func.name, fix=fix, name=func.name.value, advice=advice)

    def _awaited_only(self, candidate: _Candidate) -> list[cst.Await] | None:
        """The ``await`` expressions of a private coroutine that the module only ever awaits
        directly, or None when it is not such a function."""
        func = candidate.func
        name = func.name.value
        if candidate.registration is not None or candidate.exempt or candidate.uses_loop:
            return None  # a coroutine that needs the running loop says so by being one
        if not candidate.nested and not (name.startswith("_") and not name.endswith("__")):
            return None  # public: another module may import and await it
        for decorator in func.decorators:
            if not self.ctx.expr_names(decorator.decorator) & _PLAIN_DECORATORS:
                return None
        awaits = self._awaited.get(name, [])
        if not awaits:
            return None
        receivers = {"self", "cls"}
        if candidate.owner is not None:
            receivers.add(candidate.owner.name.value)
        for await_ in awaits:
            call = await_.expression
            assert isinstance(call, cst.Call)
            target = call.func
            if candidate.owner is None:
                if not isinstance(target, cst.Name) or self.ctx.definitions(target) != [func]:
                    return None
            elif not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)
                      and target.value.value in receivers):
                return None
        # every occurrence of the name in the file is the ``def`` or one of those awaited calls:
        # no callback, no ``getattr(obj, "name")``, no second definition
        occurrences = len(re.findall(rb"(?<![\w.])" + re.escape(name.encode()) + rb"\b", self.ctx.source)) + len(
            re.findall(rb"\." + re.escape(name.encode()) + rb"\b", self.ctx.source)
        )
        if occurrences != 1 + len(awaits):
            return None
        return awaits

    def _report_private(self, candidate: _Candidate, awaits: list[cst.Await]) -> None:
        func = candidate.func
        replacements: list[tuple[cst.CSTNode, cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[Any]]] = [
            (func, func.with_changes(asynchronous=None))
        ]
        for await_ in awaits:
            replacements.append((await_, _unawaited(await_)))
        sites = "call site" if len(awaits) == 1 else f"{len(awaits)} call sites"
        advice = (
            f"every use in this module awaits it directly, so it can be a plain `def`: drop `async` and the "
            f"`await` at its {sites}"
        )
        fix = Fix(f"Make `{func.name.value}` a plain `def` and call it without `await`", Safety.UNSAFE, replacements)
        self.report(func.name, fix=fix, name=func.name.value, advice=advice)

    def _exempt(self, node: cst.FunctionDef) -> bool:
        ctx = self.ctx
        configured = set(ctx.config.async_decorators)
        for decorator in node.decorators:
            expr = decorator.decorator
            target = expr.func if isinstance(expr, cst.Call) else expr
            names = ctx.expr_names(target)
            if names & _EXEMPT_DECORATORS or names & configured:
                return True
            if names & _FIXTURE_DECORATORS and (node.params.params or node.params.kwonly_params):
                # a pytest fixture that asks for other fixtures: they may be async fixtures,
                # which pytest-asyncio hands only to async fixtures
                return True
        owner = ctx.scopes[-1][0] if ctx.scopes else None
        if isinstance(owner, cst.ClassDef):
            if node.name.value in _ASYNC_PROTOCOL:
                return True
            for base in owner.bases:
                if base.keyword is not None:
                    continue
                if "builtins.object" not in ctx.qualified_names(base.value):
                    return True
        return False


def _in_first_iterable(ctx: object, genexp: cst.GeneratorExp, node: cst.CSTNode) -> bool:
    """``node`` is (inside) the first ``for``'s iterable of ``genexp``, the one part that is
    evaluated where the expression is written (``(a for a in await gen())``)."""
    parent_of = ctx.parent  # type: ignore[attr-defined]
    current: cst.CSTNode | None = node
    while current is not None and current is not genexp:
        if current is genexp.for_in.iter:
            return True
        current = parent_of(current)
    return False


def _unawaited(await_: cst.Await) -> cst.BaseExpression:
    """``await f(x)`` as ``f(x)``, keeping the parentheses around the ``await`` expression."""
    return await_.expression.with_changes(lpar=await_.lpar, rpar=await_.rpar)


def _websocket(registration: Registration) -> bool:
    return registration.how.endswith((".websocket", ".websocket_route"))


def _is_stub(rule: Rule, node: cst.FunctionDef) -> bool:
    """A docstring, ``pass``, ``...`` or ``raise NotImplementedError``, alone or after a docstring."""
    body = node.body
    statements: list[cst.BaseSmallStatement] = []
    if isinstance(body, cst.SimpleStatementSuite):
        statements = list(body.body)
    else:
        for stmt in body.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                return False
            statements.extend(stmt.body)
    if statements and isinstance(statements[0], cst.Expr) and isinstance(
        statements[0].value, (cst.SimpleString, cst.ConcatenatedString)
    ):
        statements = statements[1:]
    if len(statements) > 1:
        return False
    for small in statements:
        if isinstance(small, cst.Pass):
            continue
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Ellipsis):
            continue
        if isinstance(small, cst.Raise) and small.exc is not None and small.cause is None:
            exc = small.exc.func if isinstance(small.exc, cst.Call) else small.exc
            if "builtins.NotImplementedError" in rule.ctx.qualified_names(exc):
                continue
        return False
    return True

