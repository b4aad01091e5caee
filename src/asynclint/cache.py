"""The result cache: a file whose bytes, configuration and dependencies are unchanged is not linted again.

One cache file per (asynclint version and code (see :func:`code_fingerprint`), Python version, effective configuration, enabled rules,
output needs) under ``.asynclint_cache/`` in the project root (``ASYNCLINT_CACHE_DIR`` moves it;
``--no-cache`` turns it off). It maps each file's resolved path to the blake2b hash of its bytes,
the ``stat`` signatures of the other files its findings depend on (see :mod:`asynclint.deps`), and
its outcome (findings without parse trees). The folder holds a ``CACHEDIR.TAG`` and a
``.gitignore`` of ``*`` so backup tools and git leave it alone.

Cache files are pickles, which run code when loaded: their names are keyed with a random secret
kept in the user's own cache folder (``~/.cache/asynclint/secret``), so a cache file that comes with
a repository is never opened. Two runs may share the folder: the file is read whole and replaced atomically (write to a temporary
file, then rename), so a reader never sees half a file; the last writer wins, which at worst drops
the other run's new entries. An unreadable or corrupt cache file is ignored and rewritten. Only
lint runs use the cache; ``--fix`` and ``--diff`` always read the files.

This module imports nothing heavy: a run that the cache answers entirely never loads libcst.
"""
from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

from asynclint import __version__, deps

FORMAT = 1
_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by asynclint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def folder(root: Path) -> Path:
    configured = os.environ.get("ASYNCLINT_CACHE_DIR")
    return Path(configured) if configured else root / ".asynclint_cache"


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class Cache:
    """The entries of one configuration, loaded at the start of a run and saved at its end."""

    def __init__(self, root: Path, fingerprint: str) -> None:
        self.dir = folder(root)
        key = hashlib.blake2b(
            f"{FORMAT}|{__version__}|{code_fingerprint()}|{sys.version_info[:2]}|{fingerprint}".encode(),
            digest_size=16,
            key=secret()[:64],
        ).hexdigest()
        self.path = self.dir / f"{key}.pickle"
        self.entries: dict[str, tuple[str, tuple[tuple[str, deps.Signature], ...], Any]] = {}
        self.dirty = False
        try:
            with open(self.path, "rb") as fh:
                loaded = pickle.load(fh)
            if isinstance(loaded, dict):
                self.entries = loaded
        except Exception:  # noqa: BLE001 - missing, unreadable, corrupt or from another version: start empty
            self.entries = {}

    def get(self, path: str, digest: str) -> Any | None:
        """The cached outcome of ``path`` when its bytes hash to ``digest`` and every file its
        findings depend on is unchanged."""
        entry = self.entries.get(_key(path))
        if entry is None or entry[0] != digest or not deps.unchanged(entry[1]):
            return None
        return entry[2]

    def put(self, path: str, digest: str, dependencies: tuple[tuple[str, deps.Signature], ...], outcome: Any) -> None:
        self.entries[_key(path)] = (digest, dependencies, outcome)
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            tag = self.dir / "CACHEDIR.TAG"
            if not tag.exists():
                tag.write_text(_TAG)
            ignore = self.dir / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# created by asynclint\n*\n")
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-", suffix=".pickle")
            try:
                with os.fdopen(fd, "wb") as fh:
                    pickle.dump(self.entries, fh, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, self.path)
            except BaseException:
                with _suppress():
                    os.unlink(tmp)
                raise
        except OSError:
            pass  # a read-only tree: the run's results stand, the next run recomputes them
        self.dirty = False


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The size and modification time of every file of the installed asynclint package: a
    checkout or an editable install that changes the code (same version number) does not get
    results computed by other code."""
    return fingerprint_of(Path(__file__).resolve().parent)


def fingerprint_of(package: Path) -> str:
    parts: list[str] = []
    for folder_path, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".json")):
                try:
                    st = os.stat(os.path.join(folder_path, name))
                except OSError:
                    continue
                parts.append(f"{folder_path}/{name}:{st.st_size}:{st.st_mtime_ns}")
    return content_hash("\n".join(parts).encode())


def _key(path: str) -> str:
    # the spelled path, made absolute: not the real path, since findings depend on how a file is
    # reached (a symlink under tests/ is test code, ``per-file-ignores`` match the spelled path)
    return os.path.abspath(path)


@functools.lru_cache(maxsize=1)
def secret() -> bytes:
    """A random value kept in the user's cache folder and mixed into every cache file name, so a
    cache file committed to a repository (pickle runs code when loaded) is never one this user's
    runs open: its name cannot be guessed from the repository."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "asynclint"
    path = base / "secret"
    try:
        value = path.read_bytes()
        if len(value) >= 16:
            return value
    except OSError:
        pass
    value = os.urandom(32)
    try:
        base.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=base)
        with os.fdopen(fd, "wb") as fh:
            fh.write(value)
        os.replace(tmp, path)
        return path.read_bytes()  # another run may have won the race: use what is there
    except OSError:
        return value  # no writable home: a fresh secret, so this run's cache is its own


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True
