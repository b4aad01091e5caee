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


class NestedEventLoop(Rule):
    """Checks for `asyncio.run(...)`, `trio.run(...)`, `anyio.run(...)`, `loop.run_until_complete(...)`
    and `loop.run_forever()` inside a coroutine body.

    `loop` is an object known to be an event loop: built by `asyncio.get_event_loop()`,
    `asyncio.get_running_loop()` or `asyncio.new_event_loop()` (directly or through a name bound to
    one), or a parameter annotated `asyncio.AbstractEventLoop`. Sync functions, including ones
    nested in an `async def`, are not flagged: running a loop there is how sync code calls async
    code.

    ## Why is this bad?
    A coroutine body runs inside a running event loop, and a thread can run only one loop at a
    time: `asyncio.run` raises `RuntimeError: asyncio.run() cannot be called from a running event
    loop`, and `run_until_complete`/`run_forever` raise `RuntimeError: This event loop is already
    running` (a new loop raises `Cannot run the event loop while another loop is running`). Even
    where a patched loop allows it, the outer loop is blocked until the inner one finishes.
    """

    code = "ASL103"
    slug = "nested-event-loop"
    message = "`{call}` inside a coroutine body raises `RuntimeError`: an event loop is already running; {instead}"
    markers = ()
    requires = COROUTINE_DEF
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

            async def fetch_user(user_id):
                await asyncio.sleep(0)
                return {"id": user_id}

            async def handler(user_id):
                return await fetch_user(user_id)

            def sync_handler(user_id):
                return asyncio.run(fetch_user(user_id))
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
            shown = runners[0].replace("()", "(...)") + "(...)"
            self.report(node, call=shown, instead="`await` the coroutine instead")
            return
        method = _loop_method(ctx, node, names)
        if method is not None:
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
