"""ASL200 blocking-sleep: ``time.sleep`` in a coroutine body."""
from __future__ import annotations

from asynclint.rule import Example, Safety
from asynclint.semantics.blocking import BlockingCallRule


class BlockingSleep(BlockingCallRule):
    """Checks for `time.sleep(...)` in a coroutine body.

    ## Why is this bad?
    `time.sleep` blocks the whole thread. In an `async def` that thread runs the event loop, so
    every other task and request in the process stops until the sleep ends. The async library's
    own sleep suspends only the current task.

    ## Fix safety
    The fix is safe: it replaces the call with `await asyncio.sleep(...)` (`trio.sleep` or
    `anyio.sleep` in modules that use those libraries), reusing an existing import alias and adding
    `import asyncio` only when it is missing, and removing an import of `time` that nothing uses
    any more. The task still waits just as long.
    """

    code = "ASL200"
    slug = "blocking-sleep"
    fix_safety = Safety.SAFE
    examples = (
        Example(
            """
            import time

            async def poll(job):
                while not job.done():
                    time.sleep(0.5)  # ASL200
            """,
            fixed="""
            import asyncio

            async def poll(job):
                while not job.done():
                    await asyncio.sleep(0.5)  # ASL200
            """,
        ),
        Example(
            """
            import asyncio
            import time

            async def poll(job):
                while not job.done():
                    await asyncio.sleep(0.5)

            def wait_sync():
                time.sleep(0.5)  # a sync function may sleep
            """
        ),
    )
