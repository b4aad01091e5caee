"""What the ASL3xx analysis shares: the tables of qualified names (executors, thread runners, locks,
class-based handlers, path functions) and small helpers on libcst nodes."""
from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from asynclint.semantics.frameworks import (
    DJANGO_POOL,
    FLASK_POOL,
    Registration,
)

Callable_ = cst.FunctionDef | cst.Lambda
#: how many names/partials deep ``resolve`` follows a reference
_MAX_RESOLVE_DEPTH = 8

# -- tables (qualified names) ----------------------------------------------------------------

THREAD_EXECUTORS = frozenset(
    {
        "concurrent.futures.ThreadPoolExecutor",
        "concurrent.futures.thread.ThreadPoolExecutor",
        "multiprocessing.pool.ThreadPool",
        "multiprocessing.dummy.Pool",
    }
)
PROCESS_EXECUTORS = frozenset(
    {
        "concurrent.futures.ProcessPoolExecutor",
        "concurrent.futures.process.ProcessPoolExecutor",
        "multiprocessing.Pool",
        "multiprocessing.pool.Pool",
    }
)
EXECUTOR_METHODS = frozenset(
    {"submit", "map", "apply", "apply_async", "map_async", "imap", "imap_unordered", "starmap", "starmap_async"}
)
#: callables that run their first argument on a worker thread
THREAD_RUNNERS = frozenset(
    {
        "asyncio.to_thread",
        "anyio.to_thread.run_sync",
        "trio.to_thread.run_sync",
        "starlette.concurrency.run_in_threadpool",
        "fastapi.concurrency.run_in_threadpool",
        "_thread.start_new_thread",
        "_thread.start_new",
    }
)
BACKGROUND_TASKS = frozenset({"fastapi.BackgroundTasks", "starlette.background.BackgroundTasks", "fastapi.background.BackgroundTasks"})
#: Durable Functions apps: their decorated sync functions run on the same worker thread pool
DURABLE_APPS = frozenset({"azure.durable_functions.DFApp", "azure.durable_functions.Blueprint"})
FASTAPI_DEPENDS = frozenset({"fastapi.Depends", "fastapi.Security", "fastapi.params.Depends", "fastapi.params.Security"})
DJANGO_ROUTES = frozenset({"django.urls.path", "django.urls.re_path", "django.conf.urls.url"})
STARLETTE_ROUTES = frozenset({"starlette.routing.Route", "fastapi.routing.APIRoute"})

LOCK_CTORS = frozenset(
    {
        "threading.Lock",
        "threading.RLock",
        "threading.Semaphore",
        "threading.BoundedSemaphore",
        "threading.Condition",
        "_thread.allocate_lock",
        "_thread.LockType",
        "multiprocessing.Lock",
        "multiprocessing.RLock",
        "multiprocessing.Semaphore",
        "multiprocessing.BoundedSemaphore",
    }
)
#: locks the thread holding them may take again
REENTRANT_LOCKS = frozenset(
    {
        "threading.RLock",
        "threading.Condition",
        "multiprocessing.RLock",
        "filelock.FileLock",
        "filelock.SoftFileLock",
        "filelock.UnixFileLock",
        "filelock.WindowsFileLock",
    }
)
#: locks that other processes see too (a lock file): one built per call still protects
INTERPROCESS_LOCKS = frozenset(
    {
        "filelock.FileLock",
        "filelock.SoftFileLock",
        "filelock.UnixFileLock",
        "filelock.WindowsFileLock",
        "fasteners.InterProcessLock",
        "portalocker.Lock",
    }
)

#: class-based handlers: base class -> methods that run on request threads
_VERBS = ("get", "post", "put", "patch", "delete", "head", "options")
#: the methods Django's generic views call on every request
_DJANGO_GENERIC_METHODS = (
    *_VERBS, "dispatch", "setup", "get_context_data", "get_queryset", "get_object", "get_form", "get_form_kwargs",
    "form_valid", "form_invalid", "get_success_url", "get_redirect_url", "get_template_names",
)
CLASS_HANDLERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "threading.Thread": ("threading", "a separate thread", ("run",)),
    "django.views.View": ("Django", DJANGO_POOL, (*_VERBS, "dispatch")),
    "django.views.generic.View": ("Django", DJANGO_POOL, _VERBS),
    "django.views.generic.base.View": ("Django", DJANGO_POOL, _VERBS),
    "rest_framework.views.APIView": ("Django REST framework", DJANGO_POOL, _VERBS),
    "rest_framework.viewsets.ViewSet": (
        "Django REST framework",
        DJANGO_POOL,
        ("list", "create", "retrieve", "update", "partial_update", "destroy"),
    ),
    **{
        f"django.views.generic.{name}": ("Django", DJANGO_POOL, _DJANGO_GENERIC_METHODS)
        for name in (
            "TemplateView", "RedirectView", "ListView", "DetailView", "FormView", "CreateView", "UpdateView",
            "DeleteView", "ArchiveIndexView", "YearArchiveView", "MonthArchiveView", "DayArchiveView",
        )
    },
    **{
        f"django.views.generic.{module}.{name}": ("Django", DJANGO_POOL, _DJANGO_GENERIC_METHODS)
        for module, name in (
            ("base", "TemplateView"), ("base", "RedirectView"), ("list", "ListView"), ("detail", "DetailView"),
            ("edit", "FormView"), ("edit", "CreateView"), ("edit", "UpdateView"), ("edit", "DeleteView"),
        )
    },
    "flask.views.MethodView": ("Flask", FLASK_POOL, _VERBS),
    "flask_restful.Resource": ("Flask", FLASK_POOL, _VERBS),
    "flask_restx.Resource": ("Flask", FLASK_POOL, _VERBS),
    "flask.views.View": ("Flask", FLASK_POOL, ("dispatch_request",)),
}

OPENERS = frozenset({"builtins.open", "io.open", "codecs.open"})
#: calls whose result is a fixed path when their arguments are (os.path.join(BASE, "x"))
PATH_FUNCS = frozenset(
    {
        "pathlib.Path",
        "pathlib.PurePath",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
        "os.path.join",
        "os.path.abspath",
        "os.path.dirname",
        "os.path.realpath",
        "os.path.normpath",
        "os.path.expanduser",
        "os.path.expandvars",
        "os.fspath",
        "os.getenv",
        "os.environ.get",
        "os.getcwd",
        "builtins.str",
        "pathlib.Path.home",
        "pathlib.Path.cwd",
        "tempfile.gettempdir",
    }
)
_PATH_METHODS = frozenset({"resolve", "absolute", "expanduser", "joinpath", "with_suffix", "with_name", "with_stem"})
_PATH_ATTRS = frozenset({"parent", "parents"})
FILE_IO_METHODS = frozenset(
    {"read", "read1", "readline", "readlines", "readinto", "write", "writelines", "seek", "tell", "truncate", "flush"}
)
CSV_WRITERS = frozenset({"csv.writer", "csv.DictWriter"})
_IN_PLACE_OPS = (cst.AddAssign, cst.BitOrAssign)
_CONTAINER_CTORS = frozenset({"builtins.list", "builtins.set", "builtins.dict", "collections.deque"})
_LOCK_WORDS = frozenset({"lock", "locks", "rlock", "mutex", "sem", "semaphore", "guard"})


@dataclass(frozen=True)
class Why:
    """Why a function is threaded: the entry point it runs from and the call chain down to it."""

    registration: Registration
    chain: tuple[Callable_, ...]




def _arg(call: cst.Call, index: int | None, *keywords: str) -> cst.BaseExpression | None:
    """The argument at position ``index`` or passed as one of ``keywords``."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in keywords:
            return arg.value
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if index is not None and len(positional) > index and not any(a.star for a in call.args[: index + 1]):
        return positional[index].value
    return None


def _root_name(expr: cst.BaseExpression) -> cst.Name | None:
    while isinstance(expr, (cst.Attribute, cst.Subscript)):
        expr = expr.value
    return expr if isinstance(expr, cst.Name) else None


def same_ref(a: cst.CSTNode, b: cst.CSTNode) -> bool:
    """Structural equality of two references (``D``, ``obj.attr``, ``D[k]``), ignoring whitespace."""
    if isinstance(a, cst.Name) and isinstance(b, cst.Name):
        return a.value == b.value
    if isinstance(a, cst.Attribute) and isinstance(b, cst.Attribute):
        return a.attr.value == b.attr.value and same_ref(a.value, b.value)
    if isinstance(a, cst.Subscript) and isinstance(b, cst.Subscript):
        return same_ref(a.value, b.value) and len(a.slice) == len(b.slice) and all(
            x.slice.deep_equals(y.slice) for x, y in zip(a.slice, b.slice)
        )
    return False


def reads(tree: cst.CSTNode, ref: cst.CSTNode) -> bool:
    """True when ``tree`` evaluates ``ref`` somewhere (``D.get(k)`` reads ``D``)."""
    todo: list[cst.CSTNode] = [tree]
    while todo:
        node = todo.pop()
        if same_ref(node, ref):
            return True
        if isinstance(node, cst.Attribute):
            todo.append(node.value)  # ``x.D`` does not read ``D``
        elif isinstance(node, cst.Arg):
            todo.append(node.value)
        elif isinstance(node, cst.Lambda):
            continue
        else:
            todo.extend(node.children)
    return False


def _identifier(text: str) -> str:
    out = re.sub(r"\W+", "_", text).strip("_").lower()
    return out or "state"


