"""The files other than its own that a file's findings depend on, for the result cache.

A few analyses read beyond the linted file: the concurrency settings of its folders
(``local.settings.json``, ``gunicorn.conf.py``, a Procfile; absent ones count too, since creating one
changes the messages) and the project's other modules (ASL300 shares one lock per file across the
modules of a program; routes on an app imported from another module). Each records what it looked
at here, with its ``stat`` signature; the cache keeps the list with the file's result and uses the
result again only while every signature is unchanged.
"""
from __future__ import annotations

import os
from pathlib import Path

#: (path, (mtime_ns, size) or None when missing)
Signature = tuple[int, int] | None

_recorded: dict[str, Signature] | None = None


def start() -> None:
    """Begin recording for one file."""
    global _recorded
    _recorded = {}


def collect() -> tuple[tuple[str, Signature], ...]:
    """What was recorded since :func:`start`, and stop recording."""
    global _recorded
    found, _recorded = _recorded or {}, None
    return tuple(sorted(found.items()))


def record(path: Path | str) -> None:
    """The current file's result depends on ``path`` (a file or a folder's list of entries)."""
    if _recorded is None:
        return
    key = os.fspath(path)
    if key not in _recorded:
        _recorded[key] = signature(key)


def signature(path: str) -> Signature:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def unchanged(deps: tuple[tuple[str, Signature], ...]) -> bool:
    return all(signature(path) == sig for path, sig in deps)
