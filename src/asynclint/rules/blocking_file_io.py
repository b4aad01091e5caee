"""ASL230 blocking-file-io: `open()`, `pathlib.Path` I/O and `shutil` copies in a coroutine body."""
from __future__ import annotations

from asynclint.rule import Example, Safety
from asynclint.semantics.blocking import BlockingCallRule


class BlockingFileIo(BlockingCallRule):
    """Checks for file I/O in a coroutine body: `open()`, `io.open`, `os.fdopen`, `codecs.open`,
    the `pathlib.Path` methods `open/read_text/read_bytes/write_text/write_bytes`, and the
    `shutil` copy/move/rmtree functions.

    ## Why is this bad?
    Disk I/O blocks the thread until the operating system answers: on a network file system or
    a busy disk that takes long, and in an `async def` the event loop waits with it. Async file
    APIs (`aiofiles`, `anyio.Path`, `trio.Path`) run each operation on a worker thread.

    ## Fix safety
    The fix is unsafe: one-shot calls (`Path(p).read_text()`, `shutil.copy(a, b)`) run on a
    worker thread with `await asyncio.to_thread(...)` (or the module's async library's
    equivalent), concurrently with other tasks. `open()`, `io.open`, `os.fdopen` and
    `Path.open()` have no fix: the file object they return blocks on every read and write, so the
    whole file operation must move (the message names `aiofiles`, `anyio.Path` and
    `asyncio.to_thread`).

    ## Options
    - `fix-style`, `target-version`: which thread wrapper the fix writes.
    """

    code = "ASL230"
    slug = "blocking-file-io"
    fix_safety = Safety.UNSAFE
    markers = (b"open", b"pathlib", b"shutil")
    examples = (
        Example(
            """
            from pathlib import Path

            async def load_settings(folder):
                return Path(folder, "settings.toml").read_text()  # ASL230
            """,
            fixed="""
            from pathlib import Path
            import asyncio

            async def load_settings(folder):
                return await asyncio.to_thread(Path(folder, "settings.toml").read_text)  # ASL230
            """,
        ),
        Example(
            """
            import asyncio
            from pathlib import Path

            async def load_settings(folder):
                return await asyncio.to_thread(Path(folder, "settings.toml").read_text)

            def load_settings_sync(folder):
                with open(f"{folder}/settings.toml") as fh:
                    return fh.read()
            """
        ),
    )
