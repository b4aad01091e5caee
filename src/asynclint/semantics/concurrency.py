"""How many copies of a threaded handler run at once, read from the project's configuration.

Looked for in the linted file's folder and every folder above it up to the project root (the
folder of the configuration file, else the current folder), nearest first:

- Azure Functions: ``local.settings.json`` ``Values.PYTHON_THREADPOOL_THREAD_COUNT`` (threads per
  worker process) and ``Values.FUNCTIONS_WORKER_PROCESS_COUNT`` (processes);
- gunicorn: ``gunicorn.conf.py`` (``threads``, ``workers``, ``worker_class``), or a ``gunicorn``
  command line in a ``Procfile``, ``Dockerfile``, ``startup.sh``/``start.sh``/``entrypoint.sh``
  (``--threads``, ``--workers``/``-w``, ``--worker-class``/``-k``);
- FastAPI/Starlette: anyio's thread limiter, 40 threads unless the code sets
  ``current_default_thread_limiter().total_tokens = N``.

Only what is written down is reported: values from environment variables set elsewhere (app
settings in the portal, a compose file) are not seen.
"""
from __future__ import annotations

import ast
import functools
import json
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from asynclint import deps

#: anyio's default thread limiter (what Starlette's run_in_threadpool uses)
ANYIO_DEFAULT_THREADS = 40
_SCRIPTS = ("Procfile", "Dockerfile", "startup.sh", "start.sh", "entrypoint.sh", "docker-entrypoint.sh", "run.sh")
#: every file the pool settings are read from
_PROBED = ("local.settings.json", "gunicorn.conf.py", *_SCRIPTS)


@dataclass(frozen=True)
class PoolSize:
    """Threads per process and processes, as configured (None: not set), and where it was read."""

    threads: int | None = None
    processes: int | None = None
    source: str = ""
    #: gunicorn's worker class (``sync`` runs one request per process at a time)
    worker_class: str | None = None

    def describe(self) -> str:
        """``8 at a time in each of 4 processes (gunicorn.conf.py; ...)``, "" when nothing is known."""
        if self.worker_class is not None and self.worker_class not in ("gthread", "sync"):
            return ""  # gevent/eventlet/uvicorn workers: not a thread pool
        threads = self.threads
        if self.worker_class == "sync" and threads is None:
            threads = 1  # gunicorn's sync worker: one request per process at a time
        if threads is None and self.processes is None:
            return ""
        if threads == 1:
            return f"one at a time per process ({self.source}; other servers, such as `flask run`, use threads)"
        if threads is not None and self.processes and self.processes > 1:
            return (f"{threads} at a time in each of {self.processes} processes ({self.source}; "
                    "threads share module state, processes do not)")
        if threads is not None:
            return f"up to {threads} at a time ({self.source})"
        return f"in {self.processes} processes ({self.source}; each with its own module state and threads)"


def _int(value: object) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _folders(path: str, root: Path) -> list[Path]:
    """The file's folder and those above it up to ``root`` (just its own when outside ``root``)."""
    here = Path(os.path.abspath(path)).parent
    top = Path(os.path.abspath(root))
    out = [here]
    if here != top and top in here.parents:
        for parent in here.parents:
            out.append(parent)
            if parent == top:
                break
    return out


@functools.lru_cache(maxsize=256)
def _azure_in(folder: Path) -> PoolSize | None:
    settings = folder / "local.settings.json"
    try:
        values = json.loads(settings.read_text(encoding="utf-8")).get("Values", {})
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(values, dict):
        return None
    threads = _int(values.get("PYTHON_THREADPOOL_THREAD_COUNT"))
    processes = _int(values.get("FUNCTIONS_WORKER_PROCESS_COUNT"))
    if threads is None and processes is None:
        return None
    return PoolSize(threads, processes, "local.settings.json")


@functools.lru_cache(maxsize=256)
def _gunicorn_in(folder: Path) -> PoolSize | None:
    conf = folder / "gunicorn.conf.py"
    try:
        tree = ast.parse(conf.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        tree = None
    if tree is not None:
        found: dict[str, object] = {}
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                if isinstance(stmt.value, ast.Constant):
                    found[stmt.targets[0].id] = stmt.value.value
        worker_class = found.get("worker_class")
        conf_size = PoolSize(_int(found.get("threads")), _int(found.get("workers")), "gunicorn.conf.py",
                             worker_class if isinstance(worker_class, str) else None)
        if conf_size.threads or conf_size.processes or conf_size.worker_class:
            return conf_size
    for name in _SCRIPTS:
        try:
            text = (folder / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        size = _gunicorn_command(text, name)
        if size is not None:
            return size
    return None


def _gunicorn_command(text: str, source: str) -> PoolSize | None:
    for line in text.splitlines():
        if "gunicorn" not in line:
            continue
        line = re.sub(r'^\s*(CMD|ENTRYPOINT|RUN)\s*', "", line)
        line = re.sub(r"^\s*\w+\s*:\s*", "", line)  # Procfile "web: gunicorn ..."
        if line.startswith("["):  # Dockerfile exec form
            try:
                args = [str(a) for a in json.loads(line)]
            except ValueError:
                continue
        else:
            try:
                args = shlex.split(line, comments=True)
            except ValueError:
                continue
        threads = processes = None
        worker_class = None
        for i, arg in enumerate(args):
            key, _, inline = arg.partition("=")
            value = inline or (args[i + 1] if i + 1 < len(args) else "")
            if key == "--threads":
                threads = _int(value)
            elif key in ("--workers", "-w"):
                processes = _int(value)
            elif key in ("--worker-class", "-k"):
                worker_class = value
            elif arg.startswith("-w") and arg[2:].isdigit():
                processes = _int(arg[2:])
        if threads or processes or worker_class:
            return PoolSize(threads, processes, source, worker_class)
    return None


def azure_pool(path: str, root: Path) -> PoolSize | None:
    return _nearest(path, root, _azure_in)


def gunicorn_pool(path: str, root: Path) -> PoolSize | None:
    return _nearest(path, root, _gunicorn_in)


def _nearest(path: str, root: Path, read: Callable[[Path], PoolSize | None]) -> PoolSize | None:
    """What ``read`` finds in the file's folder or the nearest folder above it (up to ``root``)."""
    for folder in _folders(path, root):
        for name in _PROBED:
            deps.record(folder / name)  # a settings file created later changes the messages
        found = read(folder)
        if found is not None:
            return found
    return None


_LIMITER = re.compile(rb"total_tokens\s*=\s*(\d+)")


def anyio_pool(source: bytes) -> PoolSize:
    """The thread limiter FastAPI/Starlette sync endpoints share: set in this module, else anyio's
    default."""
    found = _LIMITER.search(source)
    if found:
        return PoolSize(int(found.group(1)), None, "the anyio thread limiter set in this module")
    return PoolSize(ANYIO_DEFAULT_THREADS, None, "anyio's default thread limiter")
