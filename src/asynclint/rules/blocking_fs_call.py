"""ASL231 blocking-fs-call: file-system metadata and directory calls in a coroutine body."""
from __future__ import annotations

from asynclint.rule import Example, Safety
from asynclint.semantics.blocking import BlockingCallRule


class BlockingFsCall(BlockingCallRule):
    """Checks for file-system calls that do not read or write a file's contents in a coroutine
    body: metadata and existence checks (`os.path.exists/isfile/isdir/islink/getsize/getmtime/
    realpath/...`, `os.stat`, `os.access`), directory listings and walks (`os.listdir`,
    `os.scandir`, `os.walk`, `glob.glob`), and changes to the tree (`os.makedirs`, `os.remove`,
    `os.rename`, `os.chmod`, `shutil.disk_usage`, ...), and the same methods of `pathlib.Path`
    (`exists`, `is_file`, `stat`, `iterdir`, `glob`, `rglob`, `mkdir`, `unlink`, `rename`, `touch`,
    `resolve`, ...). The pure path functions (`os.path.join`, `normpath`, `basename`, `relpath`,
    `abspath`, `PurePath` arithmetic) touch no disk and are not flagged.

    ## Why is this bad?
    Each of these is a system call that waits for the file system. On a local SSD that is
    microseconds, but on a network share, a container overlay under load, a cold disk, or a
    directory of many entries it is milliseconds to seconds, and the event loop serves nobody
    meanwhile. ASL230 reports reading and writing files; this code reports everything else the
    file system is asked, so a project can turn the cheaper checks off separately.

    ## Fix safety
    The fix is unsafe: a one-shot call (`os.path.exists(p)`, `os.makedirs(p)`, `Path(p).stat()`)
    runs on a worker thread with `await asyncio.to_thread(...)` (or the module's async library's
    equivalent), concurrently with other tasks. Lazy walks (`os.walk`, `os.scandir`,
    `glob.iglob`, `Path.iterdir/glob/rglob`) have no fix: every step of the iteration touches the
    disk, so the whole loop must move to a thread (`to_thread(lambda: list(...))`), or use
    `anyio.Path` / `trio.Path`, whose methods are awaitable.

    ## Options
    - `fix-style`, `target-version`: which thread wrapper the fix writes.
    """

    code = "ASL231"
    slug = "blocking-fs-call"
    fix_safety = Safety.UNSAFE
    markers = (b"os", b"path", b"Path", b"glob", b"shutil")
    examples = (
        Example(
            """
            import os

            async def ensure_upload_dir(path):
                if not os.path.isdir(path):  # ASL231
                    os.makedirs(path, exist_ok=True)  # ASL231
            """,
            fixed="""
            import os
            import asyncio

            async def ensure_upload_dir(path):
                if not await asyncio.to_thread(os.path.isdir, path):  # ASL231
                    await asyncio.to_thread(os.makedirs, path, exist_ok=True)  # ASL231
            """,
        ),
        Example(
            """
            import os

            async def upload_path(root, name):
                return os.path.normpath(os.path.join(root, name))  # string work, no disk

            def sync_cleanup(path):
                os.remove(path)  # not a coroutine
            """
        ),
    )
