"""ASL220 blocking-subprocess: running or waiting for a process with `subprocess`/`os` in a coroutine body."""
from __future__ import annotations

from asynclint.rule import Example, Safety
from asynclint.semantics.blocking import BlockingCallRule


class BlockingSubprocess(BlockingCallRule):
    """Checks for `subprocess.run/call/check_call/check_output/getoutput/getstatusoutput/Popen`,
    `os.system`, `os.popen`, `os.spawn*`, `os.posix_spawn*` and `os.wait*` in a coroutine body.

    ## Why is this bad?
    These calls start a process and wait for it (or wait for one started earlier) on the thread
    that runs the event loop, so every other task stops until the process ends. `Popen` and
    `os.popen` return at once but their pipes and `wait()`/`communicate()` block later.
    `asyncio.create_subprocess_exec` / `create_subprocess_shell` (`trio.run_process`,
    `anyio.run_process`) wait without blocking the loop.

    ## Fix safety
    The fix is unsafe: for the run/call/check_* family (and `getoutput`/`getstatusoutput`) it
    runs the call on a worker thread with `await asyncio.to_thread(...)` (or the module's async
    library's equivalent), so the wait happens concurrently with other tasks. `Popen`,
    `os.system`, `os.popen`, `os.spawn*`, `os.posix_spawn*` and `os.wait*` have no fix: the
    message names the async process API to use.

    ## Options
    - `fix-style`, `target-version`: which thread wrapper the fix writes.
    """

    code = "ASL220"
    slug = "blocking-subprocess"
    fix_safety = Safety.UNSAFE
    markers = (b"subprocess", b"os")
    examples = (
        Example(
            """
            import subprocess

            async def build(path):
                subprocess.run(["make", "-C", path], check=True)  # ASL220
            """,
            fixed="""
            import subprocess
            import asyncio

            async def build(path):
                await asyncio.to_thread(subprocess.run, ["make", "-C", path], check=True)  # ASL220
            """,
        ),
        Example(
            """
            import asyncio

            async def build(path):
                process = await asyncio.create_subprocess_exec("make", "-C", path)
                await process.wait()
            """
        ),
    )
