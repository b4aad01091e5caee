"""ASL100 async-without-await: an ``async def`` whose own body never awaits."""
from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from asynclint.rule import COROUTINE_DEF, Example, Fix, Rule, Safety
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
_ASYNC_LIBRARIES = frozenset({"asyncio", "trio", "anyio"})
#: frameworks that run a plain ``def`` handler on a thread pool (RULES.md: the fix applies to these)
_POOLED_FRAMEWORKS = frozenset({"Azure Functions", "FastAPI", "Starlette"})


@dataclass
class _Candidate:
    func: cst.FunctionDef
    exempt: bool
    registration: Registration | None
    #: every decorator registers the function with a pooled framework (no wrapper expecting a coroutine)
    only_registrations: bool
    awaits: bool = False
    #: the body calls the async library (``asyncio.create_task``, ``get_running_loop``): needs the loop thread
    uses_loop: bool = False


#: methods that ``async with`` / ``async for`` await: they must stay coroutines, await or not
_ASYNC_PROTOCOL = frozenset({"__aenter__", "__aexit__", "__anext__"})


class AsyncWithoutAwait(Rule):
    """Checks for `async def` functions whose own body has no `await`, `async for`, `async with` or
    `yield`.

    Only the function's own body counts: nested `def`, `lambda` and class bodies are other scopes,
    while comprehensions and generator expressions belong to the function. Not flagged: stub bodies
    (a docstring, `pass`, `...`, `raise NotImplementedError`, or a docstring with one of those),
    functions decorated with `@abc.abstractmethod`, `@typing.overload`, `@typing.override` or
    `@contextlib.asynccontextmanager`, async generators, methods of a class that has a base class
    other than `object` (they may implement an inherited async interface), and functions with a
    decorator listed in `async-decorators`, and the async protocol methods `__aenter__`, `__aexit__`
    and `__anext__` (`async with` and `async for` await what they return, so they must stay
    coroutines). A class with only keyword arguments
    (`class C(metaclass=ABCMeta)`) has no base class, so its methods are checked.

    ## Why is this bad?
    A coroutine that never suspends runs from start to end in one step of the event loop. The
    `async` buys nothing, forces every caller to `await` it, and hides that any slow work inside it
    blocks the loop. Either the function should be a plain `def`, or it is missing the `await` on
    the async work it was meant to do.

    ## Fix safety
    The fix is unsafe and only offered for a recognised framework handler (Azure Functions,
    FastAPI or Starlette routes, not websockets) whose decorators all come from the framework: it
    removes `async`, so the framework runs the handler on its worker thread pool instead of the
    event loop. That changes which thread the code runs on, and code that was safe on the single
    event-loop thread may race on the pool. It is not offered when the same module calls the
    handler (`await handler()`, `asyncio.run(handler())`): those callers need a coroutine, nor when
    the handler calls `asyncio`, `trio` or `anyio` (`asyncio.create_task(...)`,
    `asyncio.get_running_loop()`): on a pool thread there is no running loop. It is
    also withdrawn when another fix adds an `await` to the same function (an ASL2xx thread wrapper,
    an ASL101 `await`): the function must then stay `async`.

    ## Options
    `async-decorators`: qualified names of decorators whose functions must stay `async`
    (`["myapp.tasks.register"]`).
    """

    code = "ASL100"
    slug = "async-without-await"
    fix_safety = Safety.UNSAFE
    message = "`async def {name}` never awaits: {advice}"
    markers = ()
    requires = COROUTINE_DEF
    examples = (
        Example(
            """
            import azure.functions as func

            app = func.FunctionApp()

            @app.route(route="health")
            async def health(req: func.HttpRequest) -> func.HttpResponse:  # ASL100
                return func.HttpResponse("ok")

            async def total(prices):  # ASL100
                return sum(prices)
            """,
            fixed="""
            import azure.functions as func

            app = func.FunctionApp()

            @app.route(route="health")
            def health(req: func.HttpRequest) -> func.HttpResponse:  # ASL100
                return func.HttpResponse("ok")

            async def total(prices):  # ASL100
                return sum(prices)
            """,
        ),
        Example(
            """
            import abc
            import asyncio

            async def fetch(reader):
                return await reader.read()

            async def ticks():
                yield 1

            class Store(abc.ABC):
                @abc.abstractmethod
                async def load(self): ...

            class FileStore(Store):
                async def load(self):
                    return {}
            """
        ),
    )

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self._open: dict[int, _Candidate] = {}
        self._done: list[_Candidate] = []
        #: FunctionDef nodes (by identity) that the module calls by name
        self._called: set[int] = set()

    # -- bookkeeping -------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is None:
            return
        registration = handler_registration(self.ctx, node)
        only = registration is not None and all(
            (r := decorator_registration(self.ctx, node.with_changes(decorators=[d]))) is not None
            and r.framework in _POOLED_FRAMEWORKS
            for d in node.decorators
        )
        self._open[id(node)] = _Candidate(node, self._exempt(node), registration, only)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        candidate = self._open.pop(id(original_node), None)
        if candidate is not None and not candidate.exempt and not candidate.awaits and not _is_stub(self, original_node):
            self._done.append(candidate)

    def _mark(self) -> None:
        func = self.ctx.current_function
        if func is not None:
            candidate = self._open.get(id(func))
            if candidate is not None:
                candidate.awaits = True

    def visit_Await(self, node: cst.Await) -> None:
        self._mark()

    def visit_Yield(self, node: cst.Yield) -> None:
        self._mark()

    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is not None:
            self._mark()

    def visit_With(self, node: cst.With) -> None:
        if node.asynchronous is not None:
            self._mark()

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if node.asynchronous is not None:
            self._mark()

    def visit_Call(self, node: cst.Call) -> None:
        func = self.ctx.current_function
        candidate = self._open.get(id(func)) if func is not None else None
        if candidate is not None and candidate.registration is not None and not candidate.uses_loop:
            candidate.uses_loop = any(n.split(".", 1)[0] in _ASYNC_LIBRARIES for n in self.ctx.callee_names(node))
        if isinstance(node.func, cst.Name):
            for definition in self.ctx.definitions(node.func):
                if isinstance(definition, cst.FunctionDef):
                    self._called.add(id(definition))

    def leave_Module(self, original_node: cst.Module) -> None:
        for candidate in self._done:
            func = candidate.func
            fix = None
            registration = candidate.registration
            if registration is not None and self._fixable(candidate):
                fix = Fix(
                    f"Remove `async` so {registration.framework} runs `{func.name.value}` on its thread pool",
                    Safety.UNSAFE,
                    [(func, func.with_changes(asynchronous=None))],
                )
            if registration is not None and registration.framework in _POOLED_FRAMEWORKS and not _websocket(registration):
                advice = (
                    f"make it a plain `def` so {registration.framework} runs it on its thread pool "
                    "instead of the event loop, or `await` the async work it should do"
                )
            elif registration is not None and _websocket(registration):
                advice = "`await` the async work it should do (a websocket endpoint must stay `async`)"
            else:
                advice = "make it a plain `def` (and drop the `await` at its call sites), or `await` the async work it should do"
            self.report(func.name, fix=fix, name=func.name.value, advice=advice)

    # -- decisions ---------------------------------------------------------------------------
    def _fixable(self, candidate: _Candidate) -> bool:
        registration = candidate.registration
        assert registration is not None
        if registration.framework not in _POOLED_FRAMEWORKS or not candidate.only_registrations:
            return False
        if _websocket(registration):
            return False  # websocket endpoints must be coroutines
        return not candidate.uses_loop and id(candidate.func) not in self._called

    def _exempt(self, node: cst.FunctionDef) -> bool:
        ctx = self.ctx
        configured = set(ctx.config.async_decorators)
        for decorator in node.decorators:
            expr = decorator.decorator
            target = expr.func if isinstance(expr, cst.Call) else expr
            names = ctx.expr_names(target)
            if names & _EXEMPT_DECORATORS or names & configured:
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
