"""``--watch``: check again whenever a checked file (or the configuration) changes, by polling."""
from __future__ import annotations

import os
import time
from typing import Callable, Iterable, TextIO

#: seconds between two looks at the files' signatures
INTERVAL = 0.3

Signature = tuple[int, int, int]


def snapshot(paths: Iterable[os.PathLike[str] | str]) -> dict[str, Signature | None]:
    """Each path with its modification time, size and inode (an editor that saves by renaming a new
    file over the old one changes the inode); None for a path that is gone."""
    seen: dict[str, Signature | None] = {}
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            seen[os.fspath(path)] = None
            continue
        seen[os.fspath(path)] = (info.st_mtime_ns, info.st_size, info.st_ino)
    return seen


def _say(out: TextIO, message: str) -> None:
    out.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")


def watch(
    check: Callable[[], int],
    watched: Callable[[], Iterable[os.PathLike[str] | str]],
    out: TextIO,
    err: TextIO,
    quiet: bool = False,
    writes: bool = False,
    interval: float = INTERVAL,
) -> int:
    """Run ``check`` now and after every change to the files ``watched`` names (asked again each
    time: a new file counts, and so does one the configuration stops excluding). Runs until
    interrupted (Ctrl-C: KeyboardInterrupt reaches the caller). A change made while a check runs
    starts another one, unless the check ``writes`` files itself (--fix): its own writes must not."""
    clear = out.isatty()
    if not quiet:
        _say(out, "Starting linter in watch mode...")
    before = _checked(check, watched, writes, out, err)
    while True:
        time.sleep(interval)
        now = snapshot(watched())
        if now == before:
            continue
        if clear:
            out.write("\x1b[2J\x1b[H")  # clear the screen and go home, as ruff does
        if not quiet:
            _say(out, "File change detected...")
        before = _checked(check, watched, writes, out, err)


def _checked(
    check: Callable[[], int], watched: Callable[[], Iterable[os.PathLike[str] | str]], writes: bool, out: TextIO, err: TextIO
) -> dict[str, Signature | None]:
    """Run the check; the files' signatures that later changes are measured against."""
    before = snapshot(watched())
    check()
    _flush(out, err)
    return snapshot(watched()) if writes else before


def _flush(*streams: TextIO) -> None:
    for stream in streams:
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
