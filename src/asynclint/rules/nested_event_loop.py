"""ASL103 nested-event-loop: starting or running an event loop from inside a coroutine."""
from __future__ import annotations

import libcst as cst

from asynclint.rule import COROUTINE_DEF, Example, Rule
from asynclint.rules.dangling_task import LOOP_GETTERS, LOOP_TYPES
from asynclint.semantics import Context

#: functions that start a new event loop and run it to completion
RUNNERS = frozenset(
    {
        "asyncio.run",
        "asyncio.runners.run",
        "asyncio.Runner().run",
        "asyncio.runners.Runner().run",
        "trio.run",
        "anyio.run",
        "uvloop.run",
    }
)
_LOOP_METHODS = ("run_until_complete", "run_forever")
LOOP_RUNS = frozenset(f"{getter}().{method}" for getter in LOOP_GETTERS for method in _LOOP_METHODS)
_FORKS = frozenset({"os.fork", "posix.fork"})


class NestedEventLoop(Rule):
    """Checks for `asyncio.run(...)`, `trio.run(...)`, `anyio.run(...)`, `loop.run_until_complete(...)`
    and `loop.run_forever()` inside a coroutine body.

    `loop` is an object known to be an event loop: built by `asyncio.get_event_loop()`,
    `asyncio.get_running_loop()` or `asyncio.new_event_loop()` (directly or through a name bound to
    one), or a parameter annotated `asyncio.AbstractEventLoop`. Sync functions, including ones
    nested in an `async def`, are not flagged: running a loop there is how sync code calls async
    code. Nor is the child branch of a fork: the body of an `if` that tests the result of
    `os.fork()` for the child (`if os.fork() == 0:`, or `pid = os.fork()` in the same function and
    then `if pid == 0:` / `if not pid:`); its `else` (the parent) is still checked.

    ## Why is this bad?
    A coroutine body runs inside a running event loop, and a thread can run only one loop at a
    time: `asyncio.run` raises `RuntimeError: asyncio.run() cannot be called from a running event
    loop`, and `run_until_complete`/`run_forever` raise `RuntimeError: This event loop is already
    running` (a new loop raises `Cannot run the event loop while another loop is running`). Even
    where a patched loop allows it, the outer loop is blocked until the inner one finishes. A
    forked child is the exception: asyncio forgets the running loop across `fork()` (the check
    compares the process id), so the child may start its own loop.
    """

    code = "ASL103"
    slug = "nested-event-loop"
    message = "`{call}` inside a coroutine body raises `RuntimeError`: an event loop is already running; {instead}"
    markers = ()
    requires = COROUTINE_DEF
    gate = "loop-run"
    examples = (
        Example(
            """
            import asyncio

            async def fetch_user(user_id):
                await asyncio.sleep(0)
                return {"id": user_id}

            async def handler(user_id):
                return asyncio.run(fetch_user(user_id))  # ASL103
            """
        ),
        Example(
            """
            import asyncio
            import os

            async def fetch_user(user_id):
                await asyncio.sleep(0)
                return {"id": user_id}

            async def handler(user_id):
                return await fetch_user(user_id)

            def sync_handler(user_id):
                return asyncio.run(fetch_user(user_id))

            async def in_child(user_id):
                if os.fork() == 0:  # the child process has no running loop
                    asyncio.run(fetch_user(user_id))
                    os._exit(0)
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        if not ctx.in_coroutine:
            return
        names = ctx.callee_names(node)
        runners = sorted(names & RUNNERS)
        if runners:
            if not _in_fork_child(ctx, node):
                shown = runners[0].replace("()", "(...)") + "(...)"
                self.report(node, call=shown, instead="`await` the coroutine instead")
            return
        method = _loop_method(ctx, node, names)
        if method is not None and not _in_fork_child(ctx, node):
            instead = (
                "`await` the coroutine (or future) instead"
                if method == "run_until_complete"
                else "schedule work on the running loop with `asyncio.create_task(...)` instead"
            )
            shown = "loop.run_until_complete(...)" if method == "run_until_complete" else "loop.run_forever()"
            self.report(node, call=shown, instead=instead)


def _loop_method(ctx: Context, node: cst.Call, names: set[str]) -> str | None:
    func = node.func
    if not isinstance(func, cst.Attribute) or func.attr.value not in _LOOP_METHODS:
        return None
    if names & LOOP_RUNS:
        return func.attr.value
    if isinstance(func.value, cst.Name):
        for definition in ctx.definitions(func.value):
            if (
                isinstance(definition, cst.Param)
                and definition.annotation is not None
                and ctx.qualified_names(definition.annotation.annotation) & LOOP_TYPES
            ):
                return func.attr.value
    return None


def _in_fork_child(ctx: Context, node: cst.CSTNode) -> bool:
    """True inside the body of an ``if`` (within the current function) that selects the child of
    ``os.fork()``: the child has no running loop, asyncio compares the pid."""
    child: cst.CSTNode = node
    parent = ctx.parent(node)
    while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
        if isinstance(parent, cst.If) and child is parent.body and _tests_child(ctx, parent.test):
            return True
        child, parent = parent, ctx.parent(parent)
    return False


def _tests_child(ctx: Context, test: cst.BaseExpression) -> bool:
    """``fork() == 0``, ``0 == fork()``, ``not fork()``, where fork() may be a name bound to it."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return _is_fork(ctx, test.expression)
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        if not isinstance(target.operator, cst.Equal):
            return False
        if _is_zero(target.comparator):
            return _is_fork(ctx, test.left)
        if _is_zero(test.left):
            return _is_fork(ctx, target.comparator)
    return False


def _is_zero(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Integer) and expr.evaluated_value == 0


def _is_fork(ctx: Context, expr: cst.BaseExpression, bound: bool = False) -> bool:
    """``os.fork()`` itself, ``(pid := os.fork())``, or a name whose every binding in this
    function is ``os.fork()`` (a parameter, loop target or other binding makes it unknown)."""
    if isinstance(expr, cst.NamedExpr):
        return _is_fork(ctx, expr.value, bound=True)
    if isinstance(expr, cst.Call):
        return bool(ctx.qualified_names(expr.func) & _FORKS)
    if not isinstance(expr, cst.Name) or bound:
        return False
    values = ctx.bound_values(expr)
    return (
        bool(values)
        and len(values) == len(ctx.definitions(expr))
        and all(_enclosing_function(ctx, v) is ctx.current_function and _is_fork(ctx, v, bound=True) for v in values)
    )


def _enclosing_function(ctx: Context, node: cst.CSTNode) -> cst.CSTNode | None:
    parent = ctx.parent(node)
    while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
        parent = ctx.parent(parent)
    return parent
