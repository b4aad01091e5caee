"""ASL230 blocking-file-io: `open()`, `pathlib.Path` I/O and `shutil` copies in a coroutine body."""
from __future__ import annotations

from asynclint.rule import Example, Safety
from asynclint.semantics.blocking import BlockingCallRule


class BlockingFileIo(BlockingCallRule):
    """Checks for file I/O in a coroutine body: `open()`, `io.open`, `os.fdopen`, `codecs.open`,
    the `pathlib.Path` methods `open/read_text/read_bytes/write_text/write_bytes`, the
    `shutil` copy/move/rmtree functions, and the reads and writes (`read`, `readline`,
    `readlines`, `write`, `writelines`, `flush`, `seek`, `truncate`, `close`) of a sync file
    object opened somewhere else: a module-level `LOG = open(...)`, `self.fh` opened in
    `__init__`, a parameter or variable declared as a file (`io.TextIOWrapper`,
    `io.BufferedReader/Writer/Random`, `io.FileIO`, also `Optional[...]` and `... | None`). A file
    the coroutine opens itself is reported once, at its `open()`, not at every method call on it
    (the whole file operation has to move). In-memory buffers (`io.StringIO`, `io.BytesIO`) are
    not files, and neither is a parameter declared `typing.IO`/`TextIO`/`BinaryIO`: on real code
    those are handed a `BytesIO` as often as a file. File-system calls that do not read or
    write contents (`os.path.exists`, `os.listdir`, `Path.mkdir`, ...) are ASL231.

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
    markers = (b"open", b"pathlib", b"shutil", b"ssl", b"import_module", b"TextIOWrapper", b"Buffered", b"FileIO")
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
