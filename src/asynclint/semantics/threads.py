"""Threaded functions of one module (ASL3xx): entry points, the call graph, locks, shared state, the lock fix."""
from __future__ import annotations

import re
import typing
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath

import libcst as cst
from libcst.metadata import Assignment, GlobalScope, PositionProvider

from asynclint.config import Config
from asynclint.rule import Fix, ImportSpec, Rule, Safety
from asynclint.semantics import Context, concurrency
from asynclint.semantics.frameworks import (
    AZURE_POOL,
    DJANGO_POOL,
    FASTAPI_APPS,
    FASTAPI_POOL,
    FLASK_APPS,
    FLASK_POOL,
    STARLETTE_APPS,
    Registration,
    decorator_registration,
    source_name,
)

Callable_ = cst.FunctionDef | cst.Lambda
#: how many names/partials deep ``resolve`` follows a reference
_MAX_RESOLVE_DEPTH = 8

#: byte markers without which a module has no threaded entry point (the ASL3xx prefilter)
THREAD_MARKERS: tuple[bytes, ...] = (
    # thread and executor entry points (the call or subclass forms, not any mention of threads)
    b"Thread(",
    b"Thread)",
    b"start_new_thread",
    b"Timer(",
    b"Executor",
    b"run_in_executor",
    b"to_thread",
    b"run_in_threadpool",
    # frameworks that run sync handlers on thread pools
    b"azure",
    b"flask",
    b"fastapi",
    b"starlette",
    b"django",
    b"rest_framework",
)

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


def facts(ctx: Context) -> Threads:
    """The module's thread facts, computed once per file and shared by the ASL3xx rules."""
    return ctx.memo("threads", lambda: Threads(ctx))  # type: ignore[return-value]


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


class Threads:
    """Entry points, the module call graph and lock facts of one module."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.config = ctx.config
        collector = _Collector()
        ctx.module.visit(collector)
        self.functions = collector.functions
        self.classes = collector.classes
        self.calls = collector.calls
        self.lambdas = collector.lambdas
        self.withs = collector.withs
        self._executor_kinds = self._module_executors()
        self._lock_attrs = self._lock_attributes()
        self.entries: dict[Callable_, Registration] = {}
        self._find_entries()
        self.unlocked: dict[Callable_, Why] = {}
        self.reached: set[Callable_] = set()
        #: functions some call path enters with a lock held (the fix must not take that lock again)
        self.called_locked: set[Callable_] = set()
        self._propagate()

    # -- names and scopes ----------------------------------------------------------------------
    def display(self, func: Callable_) -> str:
        """``handler`` or ``Worker.run`` (``<lambda>`` for lambdas)."""
        if isinstance(func, cst.Lambda):
            return "<lambda>"
        parts = [func.name.value]
        cls = self.owner_class(func)
        if cls is not None:
            parts.insert(0, cls.name.value)
        return ".".join(parts)

    def singleton(self, func: cst.FunctionDef) -> str | None:
        """For a method (first parameter ``self``) of a class the module instantiates once at
        module level (``STORE = Store()``): the instance's name, shared by every thread."""
        cls = self.owner_class(func)
        params = func.params.params
        if cls is None or not params or params[0].name.value != "self":
            return None
        found = typing.cast(list[str], self.ctx.memo(f"singletons:{id(cls)}", lambda: self._module_instances(cls.name.value)))
        return found[0] if len(found) == 1 else None

    def _module_instances(self, class_name: str) -> list[str]:
        out = []
        for stmt in self.ctx.module.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                value: cst.BaseExpression | None
                if isinstance(small, cst.Assign):
                    value, targets = small.value, [t.target for t in small.targets]
                elif isinstance(small, cst.AnnAssign):
                    value, targets = small.value, [small.target]
                else:
                    continue
                if isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == class_name:
                    out += [t.value for t in targets if isinstance(t, cst.Name)]
        return out

    def owner_class(self, func: cst.FunctionDef) -> cst.ClassDef | None:
        block = self.ctx.parent(func)
        owner = self.ctx.parent(block) if block is not None else None
        return owner if isinstance(owner, cst.ClassDef) else None

    def module_assignments(self, name: cst.Name) -> list[Assignment] | None:
        """The bindings of ``name`` where it is used when they are all module-level, else None."""
        scope = self.ctx.scope_of(name)
        if scope is None:
            return None
        found = list(scope[name.value])  # type: ignore[index]
        if not found or not all(isinstance(a, Assignment) and isinstance(a.scope, GlobalScope) for a in found):
            return None
        return found

    def _bound_value(self, node: cst.CSTNode) -> cst.BaseExpression | None:
        """The value an assignment target node is bound to (``X = value``)."""
        if isinstance(node, cst.Name):
            values = self.ctx.bound_values(node)
            return values[0] if len(values) == 1 else None
        return None

    def _values_of(self, assignments: Iterable[Assignment]) -> list[cst.BaseExpression | None]:
        out: list[cst.BaseExpression | None] = []
        for a in assignments:
            node = a.node
            parent = self.ctx.parent(node)
            value: cst.BaseExpression | None = None
            if isinstance(parent, cst.AssignTarget):
                assign = self.ctx.parent(parent)
                if isinstance(assign, cst.Assign) and parent.target is node:
                    value = assign.value
            elif isinstance(parent, cst.AnnAssign) and parent.target is node:
                value = parent.value
            elif isinstance(parent, cst.AsName):
                item = self.ctx.parent(parent)
                if isinstance(item, cst.WithItem):
                    value = item.item
            out.append(value)
        return out

    def _ctor_names(self, expr: cst.BaseExpression | None) -> set[str]:
        if isinstance(expr, cst.Call):
            return self.ctx.expr_names(expr.func)
        return set()

    # -- module-wide facts ---------------------------------------------------------------------
    def _module_executors(self) -> set[str]:
        """Which executor kinds ("thread", "process") the module builds."""
        kinds: set[str] = set()
        for call, _ in self.calls:
            names = self.ctx.qualified_names(call.func)
            if names & THREAD_EXECUTORS:
                kinds.add("thread")
            if names & PROCESS_EXECUTORS:
                kinds.add("process")
        return kinds

    def _lock_attributes(self) -> set[str]:
        """Attribute names assigned a lock anywhere (``self._lock = threading.Lock()``)."""
        out: set[str] = set()
        ctors = LOCK_CTORS | INTERPROCESS_LOCKS | set(self.config.lock_names)
        for call, _ in self.calls:
            if not self.ctx.qualified_names(call.func) & ctors:
                continue
            parent = self.ctx.parent(call)
            if isinstance(parent, cst.Assign):
                for target in parent.targets:
                    if isinstance(target.target, cst.Attribute):
                        out.add(target.target.attr.value)
            elif isinstance(parent, cst.AnnAssign) and isinstance(parent.target, cst.Attribute):
                out.add(parent.target.attr.value)
        return out

    # -- resolving callables -------------------------------------------------------------------
    def method(self, cls: cst.ClassDef, name: str, depth: int = 0) -> cst.FunctionDef | None:
        body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
        for stmt in body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
                return stmt
        if depth < 4:
            for base in cls.bases:
                if isinstance(base.value, cst.Name):
                    for d in self.ctx.definitions(base.value):
                        if isinstance(d, cst.ClassDef):
                            found = self.method(d, name, depth + 1)
                            if found is not None:
                                return found
        return None

    def _classes_of(self, expr: cst.BaseExpression) -> list[cst.ClassDef]:
        """Module classes ``expr`` names or builds (``Worker``, ``Worker()``, ``w`` bound to one)."""
        if isinstance(expr, cst.Call):
            return [c for c in self._classes_named(expr.func)]
        if isinstance(expr, cst.Name):
            out = self._classes_named(expr)
            if not out:
                for value in self.ctx.bound_values(expr):
                    if isinstance(value, cst.Call):
                        out.extend(self._classes_named(value.func))
            return out
        return []

    def _classes_named(self, expr: cst.BaseExpression) -> list[cst.ClassDef]:
        if isinstance(expr, cst.Name):
            return [d for d in self.ctx.definitions(expr) if isinstance(d, cst.ClassDef)]
        return []

    def resolve(
        self, expr: cst.BaseExpression, owner: Callable_ | None, calls: bool = False, depth: int = 0
    ) -> list[Callable_]:
        """Functions and lambdas of this module that ``expr`` refers to (a call's callee when ``calls``)."""
        if depth > _MAX_RESOLVE_DEPTH:
            return []  # ``f = functools.partial(f, ...)`` and other self-references
        ctx = self.ctx
        if isinstance(expr, cst.Lambda):
            return [expr]
        if isinstance(expr, cst.Call):
            if ctx.qualified_names(expr.func) & {"functools.partial"} and expr.args:
                return self.resolve(expr.args[0].value, owner, depth=depth + 1)
            return []
        if isinstance(expr, cst.Name):
            out: list[Callable_] = []
            for d in ctx.definitions(expr):
                if isinstance(d, cst.FunctionDef):
                    out.append(d)
                elif isinstance(d, cst.ClassDef) and calls:
                    init = self.method(d, "__init__")
                    if init is not None:
                        out.append(init)
            if not out:
                for value in ctx.bound_values(expr):
                    if isinstance(value, cst.Lambda):
                        out.append(value)
                    elif isinstance(value, cst.Call) and ctx.qualified_names(value.func) & {"functools.partial"}:
                        out.extend(self.resolve(value, owner, depth=depth + 1))
            if not out and not calls:
                for element in self._loop_elements(expr):
                    out.extend(self.resolve(element, owner, depth=depth + 1))
            return out
        if isinstance(expr, cst.Attribute):
            name = expr.attr.value
            base = expr.value
            classes: list[cst.ClassDef] = []
            if (
                isinstance(base, cst.Name)
                and isinstance(owner, cst.FunctionDef)
                and owner.params.params
                and owner.params.params[0].name.value == base.value
            ):
                cls = self.owner_class(owner)
                if cls is not None:
                    classes.append(cls)
            if not classes:
                classes = self._classes_of(base)
            found = [self.method(c, name) for c in classes]
            return [f for f in found if f is not None]
        return []

    def _loop_elements(self, name: cst.Name) -> list[cst.BaseExpression]:
        """The elements ``name`` takes as the target of ``for name in (a, b):`` (or of a list or
        tuple bound to a name: ``JOBS = [a, b]; for fn in JOBS:``), so ``pool.submit(fn)`` in the
        loop runs ``a`` and ``b``."""
        scope = self.ctx.scope_of(name)
        if scope is None:
            return []
        out: list[cst.BaseExpression] = []
        for assignment in scope[name.value]:  # type: ignore[index]
            if not isinstance(assignment, Assignment):
                continue
            loop = self.ctx.parent(assignment.node)
            if not isinstance(loop, (cst.For, cst.CompFor)) or loop.target is not assignment.node:
                continue
            iterable = loop.iter
            if isinstance(iterable, cst.Name):
                values = self.ctx.bound_values(iterable)
                iterable = values[0] if len(values) == 1 else iterable
            if isinstance(iterable, (cst.Tuple, cst.List, cst.Set)):
                out.extend(e.value for e in iterable.elements if not isinstance(e, (cst.StarredElement,)))
        return out

    # -- entry points --------------------------------------------------------------------------
    def _add_entry(self, targets: Iterable[Callable_], registration: Registration) -> None:
        for target in targets:
            if isinstance(target, cst.FunctionDef) and target.asynchronous is not None:
                continue
            self.entries.setdefault(target, registration)

    def _find_entries(self) -> None:
        for func in self.functions:
            if func.asynchronous is not None:
                continue
            registration = (
                decorator_registration(self.ctx, func)
                or self._durable(func)
                or self._azure_v1(func)
                or self._django_view(func)
                or self._configured(func)
            )
            if registration is not None:
                self._add_entry([func], registration)
        for cls in self.classes:
            self._class_entries(cls)
        for call, owner in self.calls:
            found = self._call_entry(call, owner)
            if found is not None:
                target, registration = found
                self._add_entry(self.resolve(target, owner), registration)

    def _azure_v1(self, func: cst.FunctionDef) -> Registration | None:
        """The v1 model: a module-level ``main`` whose parameters are ``azure.functions`` bindings
        (or any module-level ``main`` of an ``__init__.py`` that imports ``azure.functions``)."""
        if func.name.value != "main" or not isinstance(self.ctx.parent(func), cst.Module):
            return None
        params = (*func.params.params, *func.params.posonly_params, *func.params.kwonly_params)
        for param in params:
            if param.annotation is not None and any(
                n.startswith("azure.functions") for n in self.ctx.qualified_names(param.annotation.annotation)
            ):
                return Registration("Azure Functions", "the v1 `main` entry point", func.name, AZURE_POOL)
        if PurePath(self.ctx.path).name == "__init__.py" and self._imports("azure.functions"):
            return Registration("Azure Functions", "the v1 `main` entry point", func.name, AZURE_POOL)
        return None

    def _imports(self, *modules: str) -> bool:
        """The module imports one of ``modules`` or a submodule (``import x``, ``from x import y``)."""
        return any(
            key.removeprefix("from:") == m or key.removeprefix("from:").startswith(m + ".")
            for key in self.ctx.imports
            for m in modules
        )

    def _django_view(self, func: cst.FunctionDef) -> Registration | None:
        """A function view of a Django app's ``views.py`` (or ``views/`` package): a public
        module-level function whose first parameter is ``request``, in a module that imports
        Django. ``urls.py`` routes it from another file, which a one-file linter cannot see."""
        path = PurePath(self.ctx.path)
        if path.stem != "views" and path.parent.name != "views":
            return None
        if not isinstance(self.ctx.parent(func), cst.Module) or func.name.value.startswith("_"):
            return None
        positional = [*func.params.posonly_params, *func.params.params]
        if not positional or positional[0].name.value != "request":
            return None
        if not self._imports("django", "rest_framework"):
            return None
        return Registration("Django", "a function view in views.py", func.name, DJANGO_POOL)

    def _configured_name(self, names: set[str]) -> str | None:
        for entry in self.config.thread_entrypoints:
            if entry in names:
                return entry
        return None

    def _local_match(self, local: str) -> str | None:
        """A configured qualified name that names the module-local ``local`` (``pkg.jobs.run``)."""
        stem = PurePath(self.ctx.path).stem
        if stem == "__init__":
            stem = PurePath(self.ctx.path).parent.name
        for entry in self.config.thread_entrypoints:
            if entry == local or entry.endswith(f"{stem}.{local}"):
                return entry
        return None

    def _configured(self, func: cst.FunctionDef) -> Registration | None:
        if not self.config.thread_entrypoints:
            return None
        for decorator in func.decorators:
            expr = decorator.decorator
            target = expr.func if isinstance(expr, cst.Call) else expr
            entry = self._configured_name(self.ctx.qualified_names(target))
            if entry is None and isinstance(target, cst.Name) and any(
                isinstance(d, cst.FunctionDef) for d in self.ctx.definitions(target)
            ):
                entry = self._local_match(target.value)
            if entry is not None:
                return Registration("configured", f"@{source_name(target)}", decorator, "a pool thread (thread-entrypoints)")
        entry = self._local_match(self.display(func))
        if entry is not None:
            return Registration("configured", f"thread-entrypoints `{entry}`", func.name, "a pool thread")
        return None

    def _class_entries(self, cls: cst.ClassDef) -> None:
        for base in cls.bases:
            for name in self.ctx.qualified_names(base.value):
                spec = CLASS_HANDLERS.get(name)
                if spec is None:
                    continue
                framework, pool, methods = spec
                how = f"subclassing {source_name(base.value)}"
                for method in methods:
                    found = self.method(cls, method)
                    if found is not None:
                        self._add_entry([found], Registration(framework, how, base, pool))

    def _executor_kind(self, expr: cst.BaseExpression) -> str | None:
        instances = {n[:-2] for n in self.ctx.instance_names(expr) if n.endswith("()")}
        if instances & PROCESS_EXECUTORS:
            return "process"
        if instances & THREAD_EXECUTORS:
            return "thread"
        return None

    def _call_entry(self, call: cst.Call, owner: Callable_ | None) -> tuple[cst.BaseExpression, Registration] | None:
        ctx = self.ctx
        func = call.func
        names = ctx.qualified_names(func)
        how = f"{source_name(func)}(...)"
        if names & {"threading.Thread"}:
            target = _arg(call, 1, "target")
            return (target, Registration("threading", f"{source_name(func)}(target=...)", call, "a separate thread")) if target else None
        if names & {"threading.Timer"}:
            target = _arg(call, 1, "function")
            return (target, Registration("threading", how, call, "a timer thread")) if target else None
        if names & THREAD_RUNNERS:
            target = _arg(call, 0, "func", "function")
            return (target, Registration("threads", how, call, "a worker thread")) if target else None
        if names & FASTAPI_DEPENDS:
            # a `def` dependency runs on the same thread pool as `def` endpoints
            target = _arg(call, 0, "dependency")
            return (target, Registration("FastAPI", f"{source_name(func)}(...) (a sync dependency)", call, FASTAPI_POOL)) if target else None
        if names & DJANGO_ROUTES:
            target = _arg(call, 1, "view")
            return (target, Registration("Django", how, call, DJANGO_POOL)) if target else None
        if names & STARLETTE_ROUTES:
            target = _arg(call, 1, "endpoint")
            return (target, Registration("Starlette", how, call, FASTAPI_POOL)) if target else None
        if self.config.thread_entrypoints and self._configured_name(names):
            target = _arg(call, 0, "target", "func", "fn")
            return (target, Registration("configured", how, call, "a pool thread (thread-entrypoints)")) if target else None
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        if method == "run_in_executor":
            executor = _arg(call, 0, "executor")
            target = _arg(call, 1, "func")
            if target is None or executor is None:
                return None
            kind = None if isinstance(executor, cst.Name) and executor.value == "None" else self._executor_kind(executor)
            if kind == "process" or (kind is None and not (isinstance(executor, cst.Name) and executor.value == "None") and self._executor_kinds == {"process"}):
                return None
            pool = "the event loop's default thread pool" if kind is None else "a ThreadPoolExecutor's threads"
            return target, Registration("asyncio", how, call, pool)
        if method in EXECUTOR_METHODS:
            kind = self._executor_kind(func.value)
            if kind is None and method == "submit" and "thread" in self._executor_kinds:
                # an executor passed in or kept on ``self``, in a module that builds thread pools
                terminal = func.value.attr.value if isinstance(func.value, cst.Attribute) else source_name(func.value)
                if "proc" not in terminal.lower():
                    kind = "thread"
            if kind != "thread":
                return None
            target = _arg(call, 0, "fn", "func")
            return (target, Registration("concurrent.futures", how, call, "a ThreadPoolExecutor's threads")) if target else None
        if method == "add_task" and self._annotated(func.value, BACKGROUND_TASKS):
            target = _arg(call, 0, "func")
            return (target, Registration("FastAPI", how, call, FASTAPI_POOL)) if target else None
        apps = {n[:-2] for n in ctx.instance_names(func.value) if n.endswith("()")}
        if method == "add_url_rule" and apps & FLASK_APPS:
            target = _arg(call, 2, "view_func")
            return (target, Registration("Flask", how, call, FLASK_POOL)) if target else None
        if method == "add_api_route" and apps & FASTAPI_APPS:
            target = _arg(call, 1, "endpoint")
            return (target, Registration("FastAPI", how, call, FASTAPI_POOL)) if target else None
        if method == "add_route" and apps & (FASTAPI_APPS | STARLETTE_APPS):
            target = _arg(call, 1, "route", "endpoint")
            return (target, Registration("Starlette", how, call, FASTAPI_POOL)) if target else None
        return None

    def _annotated(self, expr: cst.BaseExpression, types: frozenset[str]) -> bool:
        """``expr`` is a parameter annotated with one of ``types`` (``tasks: BackgroundTasks``)."""
        if not isinstance(expr, cst.Name):
            return False
        return any(
            isinstance(node, cst.Param)
            and node.annotation is not None
            and bool(self.ctx.qualified_names(node.annotation.annotation) & types)
            for node in self.ctx.definitions(expr)
        )

    def _durable(self, func: cst.FunctionDef) -> Registration | None:
        for decorator in func.decorators:
            expr = decorator.decorator
            target = expr.func if isinstance(expr, cst.Call) else expr
            if isinstance(target, cst.Attribute):
                apps = {n[:-2] for n in self.ctx.instance_names(target.value) if n.endswith("()")}
                if apps & DURABLE_APPS:
                    return Registration("Azure Functions", f"@{source_name(target)}", decorator, AZURE_POOL)
        return None

    # -- reachability --------------------------------------------------------------------------
    def _propagate(self) -> None:
        """Breadth-first from the entry points: ``unlocked`` holds functions some call path reaches
        without holding a lock (with the shortest such path), ``reached`` every threaded function."""
        edges: dict[Callable_, list[tuple[Callable_, bool]]] = {}
        for call, owner in self.calls:
            if owner is None:
                continue
            for callee in self.resolve(call.func, owner, calls=True):
                if isinstance(callee, cst.FunctionDef) and callee.asynchronous is not None:
                    continue
                edges.setdefault(owner, []).append((callee, self.locked(call)))
        for lam, owner in self.lambdas:
            if owner is not None:
                edges.setdefault(owner, []).append((lam, self.locked(lam)))
        queue: deque[tuple[Callable_, Why, bool]] = deque()
        for entry, registration in self.entries.items():
            queue.append((entry, Why(registration, (entry,)), False))
        while queue:
            func, why, held = queue.popleft()
            if held:
                if func in self.reached:
                    continue
            elif func in self.unlocked:
                continue
            self.reached.add(func)
            if held:
                self.called_locked.add(func)
            if not held:
                self.unlocked[func] = why
            for callee, locked_site in edges.get(func, ()):
                queue.append((callee, Why(why.registration, (*why.chain, callee)), held or locked_site))

    def threaded(self, func: Callable_ | None) -> Why | None:
        """Why ``func`` runs on a pool thread with no lock held by its callers (None: it does not,
        or every call path to it holds a lock)."""
        if func is None or (isinstance(func, cst.FunctionDef) and func.asynchronous is not None):
            return None
        return self.unlocked.get(func)

    def line(self, node: cst.CSTNode) -> int:
        positions = self.ctx.memo("positions", lambda: self.ctx.wrapper.resolve(PositionProvider))
        return positions[node].start.line  # type: ignore[index]

    def pool_size(self, reg: Registration) -> str:
        """How many calls of a handler run at once, where the project's configuration says so."""
        root = self.config.root
        if reg.framework == "Azure Functions":
            size = concurrency.azure_pool(self.ctx.path, root)
        elif reg.framework in ("Flask", "Django", "Django REST framework"):
            size = concurrency.gunicorn_pool(self.ctx.path, root)
        elif reg.framework in ("FastAPI", "Starlette"):
            size = concurrency.anyio_pool(self.ctx.source)
        else:
            size = None
        return size.describe() if size is not None else ""

    def describe(self, why: Why) -> str:
        """``runs on <pool> via <how> at line N`` (prefixed by the call chain for helpers)."""
        reg = why.registration
        text = f"runs on {reg.pool} via {reg.how} at line {self.line(reg.node)}"
        size = self.pool_size(reg)
        if size:
            text += f", {size}"
        if len(why.chain) == 1:
            return text
        root = self.display(why.chain[0])
        if len(why.chain) == 2:
            return f"is called from `{root}()`, which {text}"
        chain = " -> ".join(f"{self.display(f)}()" for f in why.chain)
        return f"is called through `{chain}`; `{root}()` {text}"

    # -- locks ---------------------------------------------------------------------------------
    def is_lock(self, expr: cst.BaseExpression) -> bool:
        """``expr`` is a lock shared by the threads that use it (a lock built per call is not)."""
        ctx = self.ctx
        extra = set(self.config.lock_names)
        if isinstance(expr, cst.Call):
            names = ctx.qualified_names(expr.func)
            return bool(names & (INTERPROCESS_LOCKS | {n for n in extra}))
        instances = {n[:-2] for n in ctx.instance_names(expr) if n.endswith("()")}
        qualified = ctx.qualified_names(expr)
        if qualified & extra or instances & (INTERPROCESS_LOCKS | extra):
            return True
        if instances & LOCK_CTORS:
            return not self._local_lock(expr)
        if isinstance(expr, cst.Attribute) and expr.attr.value in self._lock_attrs:
            return True
        if instances or qualified:
            return False
        terminal = expr.attr.value if isinstance(expr, cst.Attribute) else expr.value if isinstance(expr, cst.Name) else None
        if isinstance(expr, cst.Subscript):
            root = expr.value
            terminal = root.attr.value if isinstance(root, cst.Attribute) else root.value if isinstance(root, cst.Name) else None
        if terminal is None:
            return False
        words = set(terminal.lower().strip("_").split("_"))
        return bool(words & _LOCK_WORDS) or (terminal.lower().endswith("lock") and not terminal.lower().endswith(("block", "clock")))

    def _local_lock(self, expr: cst.BaseExpression) -> bool:
        """A lock bound to a local of the function that uses it: every call makes a new one."""
        if not isinstance(expr, cst.Name):
            return False
        scope = self.ctx.scope_of(expr)
        if scope is None or isinstance(scope, GlobalScope):
            return False
        found = list(scope[expr.value])  # type: ignore[index]
        return bool(found) and all(isinstance(a, Assignment) and a.scope is scope for a in found)

    def _lock_call(self, stmt: cst.CSTNode, method: str) -> cst.BaseExpression | None:
        """``L`` for a statement ``L.acquire()`` / ``L.release()`` on a lock."""
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            stmt = stmt.body[0]
        if isinstance(stmt, cst.Expr):
            stmt = stmt.value
        if (
            isinstance(stmt, cst.Call)
            and isinstance(stmt.func, cst.Attribute)
            and stmt.func.attr.value == method
            and self.is_lock(stmt.func.value)
        ):
            return stmt.func.value
        return None

    def _held_before(self, body: Iterable[cst.CSTNode], child: cst.CSTNode) -> bool:
        held: list[cst.BaseExpression] = []
        for stmt in body:
            if stmt is child:
                return bool(held)
            acquired = self._lock_call(stmt, "acquire")
            if acquired is not None:
                held.append(acquired)
                continue
            if held:
                for released in self._releases(stmt):
                    held = [h for h in held if not same_ref(h, released)]
        return False

    def _releases(self, stmt: cst.CSTNode) -> list[cst.BaseExpression]:
        """Locks ``stmt`` releases, directly or anywhere inside it (``try: ... finally: L.release()``)."""
        direct = self._lock_call(stmt, "release")
        if direct is not None:
            return [direct]
        if isinstance(stmt, cst.SimpleStatementLine):
            return []
        out: list[cst.BaseExpression] = []
        todo: list[cst.CSTNode] = [stmt]
        while todo:
            node = todo.pop()
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                continue
            if (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value == "release"
                and self.is_lock(node.func.value)
            ):
                out.append(node.func.value)
            todo.extend(node.children)
        return out

    def locked(self, node: cst.CSTNode) -> bool:
        """``node`` is lexically under a lock in its function: ``with L:``, or after ``L.acquire()``
        with no ``L.release()`` in between (``if L.acquire(...):`` too)."""
        ctx = self.ctx
        child = node
        parent = ctx.parent(node)
        while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.Module)):
            if isinstance(parent, cst.With) and child is parent.body:
                if any(self.is_lock(item.item) for item in parent.items):
                    return True
            elif isinstance(parent, cst.With) and isinstance(child, cst.WithItem) and parent.asynchronous is None:
                # ``with LOCK, open(PATH, "a") as f:`` enters its items left to right
                items = list(parent.items)
                if any(self.is_lock(item.item) for item in items[: items.index(child)]):
                    return True
            elif isinstance(parent, cst.If) and child is parent.body:
                test = parent.test
                if (
                    isinstance(test, cst.Call)
                    and isinstance(test.func, cst.Attribute)
                    and test.func.attr.value == "acquire"
                    and self.is_lock(test.func.value)
                ):
                    return True
            elif isinstance(
                parent, (cst.IndentedBlock, cst.SimpleStatementLine, cst.SimpleStatementSuite)
            ) and self._held_before(parent.body, child):
                return True
            child, parent = parent, ctx.parent(parent)
        return False

    # -- shared state --------------------------------------------------------------------------
    def module_state_root(self, target: cst.BaseExpression) -> cst.Name | None:
        """The module-level name whose state ``target`` writes, if any (``COUNTS`` for ``COUNTS[k]``;
        ``STORE`` for ``self.hits`` in a method of the class of the module-level ``STORE = Store()``)."""
        root = _root_name(target)
        if root is None:
            return None
        if root.value == "self" and not isinstance(target, cst.Name):
            func = self.ctx.current_function
            instance = self.singleton(func) if func is not None else None
            return cst.Name(instance) if instance is not None else None
        found = self.module_assignments(root)
        if found is None:
            return None
        for a in found:
            if isinstance(a.node, (cst.Import, cst.ImportFrom, cst.FunctionDef)):
                return None
        if not isinstance(target, cst.Name):
            for value in self._values_of(found):
                if self._ctor_names(value) & {"threading.local", "_threading_local.local"}:
                    return None  # attributes of a threading.local() are per thread
        return root

    def is_container(self, root: cst.Name) -> bool:
        """The module binds ``root`` only to list/set/dict displays or constructors (``+=`` mutates in place)."""
        found = [a for a in self.module_assignments(root) or [] if not isinstance(self.ctx.parent(a.node), cst.AugAssign)]
        values = self._values_of(found)
        if not values:
            return False
        for value in values:
            if isinstance(value, (cst.List, cst.Set, cst.Dict, cst.ListComp, cst.SetComp, cst.DictComp)):
                continue
            if self._ctor_names(value) & _CONTAINER_CTORS:
                continue
            return False
        return True

    def constant_path(self, expr: cst.BaseExpression | None, depth: int = 0) -> tuple[bool, str | None]:
        """(is the same path on every call, its last literal part). Literals, module constants,
        ``Path(...)``/``os.path.join`` of those; not f-strings with variables, parameters, tempfile."""
        if expr is None or depth > 8:
            return False, None
        ctx = self.ctx
        if isinstance(expr, cst.SimpleString):
            value = expr.evaluated_value
            return True, value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if isinstance(expr, cst.ConcatenatedString):
            left = self.constant_path(expr.left, depth + 1)
            right = self.constant_path(expr.right, depth + 1)
            return left[0] and right[0], right[1] or left[1]
        if isinstance(expr, cst.FormattedString):
            literal: str | None = None
            for part in expr.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    ok, inner = self.constant_path(part.expression, depth + 1)
                    if not ok:
                        return False, None
                    literal = inner or literal
                elif isinstance(part, cst.FormattedStringText):
                    literal = part.value or literal
            return True, literal
        if isinstance(expr, cst.Name):
            if expr.value == "__file__":
                return True, None
            qualified = ctx.qualified_names(expr)
            if qualified:
                last = next(iter(qualified)).rsplit(".", 1)[-1]
                return (last.isupper() or qualified <= {"os.environ"}), None
            scope = ctx.scope_of(expr)
            if scope is None:
                return False, None
            found = list(scope[expr.value])  # type: ignore[index]
            if len(found) != 1:
                return False, None
            values = self._values_of(found)
            return self.constant_path(values[0], depth + 1) if values and values[0] is not None else (False, None)
        if isinstance(expr, cst.Attribute):
            if expr.attr.value in _PATH_ATTRS:
                return self.constant_path(expr.value, depth + 1)
            qualified = ctx.qualified_names(expr)
            if qualified:
                # an imported constant (``settings.LOG_FILE``) or the environment
                last = next(iter(qualified)).rsplit(".", 1)[-1]
                return (last.isupper() or qualified <= {"os.environ"}), None
            return False, None
        if isinstance(expr, cst.Subscript):
            ok, literal = self.constant_path(expr.value, depth + 1)
            if not ok:
                return False, None
            for element in expr.slice:
                if isinstance(element.slice, cst.Index):
                    key_ok, key = self.constant_path(element.slice.value, depth + 1)
                    if not key_ok:
                        return False, None
                    literal = key or literal
            return True, literal
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Divide, cst.Add, cst.Modulo)):
            left = self.constant_path(expr.left, depth + 1)
            right = self.constant_path(expr.right, depth + 1)
            return left[0] and right[0], right[1] or left[1]
        if isinstance(expr, cst.Call):
            func = expr.func
            if ctx.qualified_names(func) & PATH_FUNCS:
                base: tuple[bool, str | None] = (True, None)
            elif isinstance(func, cst.Attribute) and func.attr.value in _PATH_METHODS:
                base = self.constant_path(func.value, depth + 1)
            else:
                return False, None
            literal = base[1]
            if not base[0]:
                return False, None
            for arg in expr.args:
                ok, inner = self.constant_path(arg.value, depth + 1)
                if not ok:
                    return False, None
                literal = inner or literal
            return True, literal
        return False, None

    def module_file(self, expr: cst.BaseExpression) -> bool:
        """``expr`` names a module-level file object (bound to ``open(...)`` at import time), or a
        ``csv.writer`` built on one."""
        if not isinstance(expr, cst.Name):
            return False
        found = self.module_assignments(expr)
        if found is None:
            return False
        for value in self._values_of(found):
            if not isinstance(value, cst.Call):
                continue
            names = self.ctx.qualified_names(value.func)
            if names & OPENERS:
                return True
            if (
                isinstance(value.func, cst.Attribute)
                and value.func.attr.value == "open"
                and self.constant_path(value.func.value)[0]
            ):
                return True
            if names & CSV_WRITERS and value.args and self.module_file(value.args[0].value):
                return True
        return False

    # -- the lock fix --------------------------------------------------------------------------
    def _module_lock_names(self) -> dict[str, str]:
        """Module-level names -> "lock", "rlock" (reentrant) or "" (bound to something else)."""

        def kind(value: cst.BaseExpression) -> str:
            if not isinstance(value, cst.Call):
                return ""
            names = self.ctx.qualified_names(value.func)
            if names & REENTRANT_LOCKS:
                return "rlock"
            return "lock" if names & (LOCK_CTORS | INTERPROCESS_LOCKS | set(self.config.lock_names)) else ""

        def build() -> dict[str, str]:
            out: dict[str, str] = {}
            for stmt in self.ctx.module.body:
                if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                    out.setdefault(stmt.name.value, "")
                if not isinstance(stmt, cst.SimpleStatementLine):
                    continue
                for small in stmt.body:
                    if isinstance(small, cst.Assign):
                        for target in small.targets:
                            if isinstance(target.target, cst.Name):
                                out[target.target.value] = out.get(target.target.value) or kind(small.value)
                    elif isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar):
                        for alias in small.names:
                            local = alias.evaluated_alias or alias.evaluated_name
                            out.setdefault(local.split(".")[0], "")
            return out

        return self.ctx.memo("threads.module_locks", build)  # type: ignore[return-value]

    def guarding_lock(self, state: str | None, literal: str | None) -> str | None:
        """A module-level lock the module already holds around ``state`` (a name) or the path
        literal: in a ``with LOCK:`` body, or between ``LOCK.acquire()`` and ``LOCK.release()``."""
        locks = self._module_lock_names()
        for with_node in self.withs:
            for item in with_node.items:
                lock = item.item
                if isinstance(lock, cst.Name) and locks.get(lock.value) and self._mentions(with_node.body, state, literal):
                    return lock.value
        for call, _ in self.calls:
            func = call.func
            if not (
                isinstance(func, cst.Attribute)
                and func.attr.value == "acquire"
                and isinstance(func.value, cst.Name)
                and locks.get(func.value.value)
            ):
                continue
            expr = self.ctx.parent(call)
            line = self.ctx.parent(expr) if isinstance(expr, cst.Expr) else None
            block = self.ctx.parent(line) if isinstance(line, cst.SimpleStatementLine) else None
            if not isinstance(block, cst.IndentedBlock):
                continue
            body = list(block.body)
            for stmt in body[body.index(line) + 1 :]:  # type: ignore[arg-type]
                if self._mentions(stmt, state, literal):
                    return func.value.value
                if any(same_ref(r, func.value) for r in self._releases(stmt)):
                    break
        return None

    def _mentions(self, body: cst.CSTNode, state: str | None, literal: str | None) -> bool:
        todo: list[cst.CSTNode] = [body]
        while todo:
            node = todo.pop()
            if state is not None and isinstance(node, cst.Name) and node.value == state:
                return True
            if literal is not None and isinstance(node, cst.SimpleString) and node.evaluated_value == literal:
                return True
            todo.extend(node.children)
        return False

    def lock_name(
        self, state: str | None, literal: str | None, base: str, func: Callable_ | None = None
    ) -> tuple[str, bool, bool]:
        """(the lock to use, whether it must be created, whether the fix may take it).

        Reuses a module lock already held around the same state; else ``_<base>_lock``, where
        ``base`` is the state's name or the file's stem. Where some caller of ``func`` already
        holds a lock, a non-reentrant lock is never taken again (that deadlocks); if such a lock
        already guards the state elsewhere, a new lock would not exclude it either: no fix then."""
        held_by_caller = func is not None and func in self.called_locked
        if isinstance(func, cst.FunctionDef) and state is not None and self.singleton(func) == state:
            # state of a shared instance: the lock its class already keeps, if it keeps one
            own = self.class_lock(func)
            if own is not None:
                return own, False, not held_by_caller
        names = self._module_lock_names()
        existing = self.guarding_lock(state, literal)
        if existing is not None:
            return existing, False, not held_by_caller or names.get(existing) == "rlock"
        stem = f"_{_identifier(base)}_lock"
        candidate = stem
        n = 2
        while candidate in names and (names[candidate] == "" or (held_by_caller and names[candidate] != "rlock")):
            candidate = f"{stem}{n}"
            n += 1
        return candidate, candidate not in names, True

    def lock_fix(
        self,
        node: cst.CSTNode,
        lock: str,
        create: bool,
        title: str,
        group: Callable[[cst.SimpleStatementLine], bool] | None = None,
    ) -> Fix | None:
        """Wrap the statement holding ``node`` in ``with <lock>:`` (adding the lock when ``create``).

        ``group`` says which neighbouring statement lines need the same lock: a run of them goes
        into one ``with`` block instead of one block each."""
        target, replacement = self._wrap_target(node, lock)
        if target is None or replacement is None:
            return None
        replacements: list[tuple[cst.CSTNode, cst.CSTNode | cst.RemovalSentinel]] = [(target, replacement)]
        block = self.ctx.parent(target)
        if group is not None and isinstance(target, cst.SimpleStatementLine) and isinstance(block, cst.IndentedBlock):
            body = list(block.body)
            start = end = body.index(target)

            def joins(stmt: cst.BaseStatement) -> bool:
                return isinstance(stmt, cst.SimpleStatementLine) and group(stmt)

            while start > 0 and joins(body[start - 1]):
                start -= 1
            while end + 1 < len(body) and joins(body[end + 1]):
                end += 1
            if start != end:
                first = body[start]
                assert isinstance(first, cst.SimpleStatementLine)
                inner = [first.with_changes(leading_lines=()), *body[start + 1 : end + 1]]
                wrapped = cst.With(
                    items=[cst.WithItem(item=cst.parse_expression(lock))],
                    body=cst.IndentedBlock(body=inner),
                    leading_lines=first.leading_lines,
                )
                replacements = [(first, wrapped), *((stmt, cst.RemoveFromParent()) for stmt in body[start + 1 : end + 1])]
        imports: tuple[ImportSpec, ...] = ()
        prelude: tuple[str, ...] = ()
        if create:
            ref, imports = self.ctx.module_ref("threading")
            if not imports and not self._import_in_header("threading"):
                return None  # ``import threading`` comes after where the lock would be defined
            prelude = (f"{lock} = {ref}.Lock()",)
        return Fix(title, Safety.UNSAFE, replacements, imports=imports, prelude=prelude)  # type: ignore[arg-type]

    def lock_withs(self, node: cst.CSTNode) -> set[int]:
        """The ``with <lock>:`` statements of its function whose body holds ``node`` (by id)."""
        out: set[int] = set()
        child, parent = node, self.ctx.parent(node)
        while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.Module)):
            if isinstance(parent, cst.With) and child is parent.body and any(self.is_lock(i.item) for i in parent.items):
                out.add(id(parent))
            child, parent = parent, self.ctx.parent(parent)
        return out

    def locked_together(self, nodes: Sequence[cst.CSTNode]) -> bool:
        """One lock is held across all of ``nodes``: a ``with <lock>:`` holds them all, or (locks
        taken by ``acquire()``, which are not followed across statements) each is under a lock."""
        withs = [self.lock_withs(n) for n in nodes]
        if set.intersection(*withs):
            return True
        return not any(withs) and all(self.locked(n) for n in nodes)

    def lock_span_fix(self, nodes: Sequence[cst.CSTNode], lock: str, create: bool, title: str) -> Fix | None:
        """Wrap the statements from the one holding the first of ``nodes`` to the one holding the
        last in one ``with <lock>:``, in the innermost block that holds them all. A ``with <lock>:``
        of the same lock at the top of that span is opened up (taking a non-reentrant lock twice
        deadlocks); one deeper inside it makes the fix give up."""
        chains = [self._block_chain(n) for n in nodes]
        if any(chain is None for chain in chains):
            return None
        common = None
        for block, _ in chains[0]:  # type: ignore[union-attr]
            if all(any(b is block for b, _ in chain) for chain in chains):  # type: ignore[union-attr]
                common = block
                break
        if common is None:
            return None
        body = list(common.body)
        indices = [
            body.index(next(stmt for b, stmt in chain if b is common))  # type: ignore[union-attr]
            for chain in chains
        ]
        start, end = min(indices), max(indices)
        span = body[start : end + 1]
        inner: list[cst.BaseStatement] = []
        for stmt in span:
            if (
                isinstance(stmt, cst.With)
                and len(stmt.items) == 1
                and self._is_ref(stmt.items[0].item, lock)
                and stmt.items[0].asname is None
                and isinstance(stmt.body, cst.IndentedBlock)
            ):
                opened = list(stmt.body.body)
                opened[0] = opened[0].with_changes(leading_lines=stmt.leading_lines)
                inner.extend(opened)
                continue
            if self._mentions_lock(stmt, lock):
                return None
            inner.append(stmt)
        first_leading = inner[0].leading_lines  # type: ignore[attr-defined]
        inner[0] = inner[0].with_changes(leading_lines=())
        wrapped = cst.With(
            items=[cst.WithItem(item=cst.parse_expression(lock))], body=cst.IndentedBlock(body=inner), leading_lines=first_leading
        )
        replacements: list[tuple[cst.CSTNode, cst.CSTNode | cst.RemovalSentinel]] = [(span[0], wrapped)]
        replacements += [(stmt, cst.RemoveFromParent()) for stmt in span[1:]]
        imports: tuple[ImportSpec, ...] = ()
        prelude: tuple[str, ...] = ()
        if create:
            ref, imports = self.ctx.module_ref("threading")
            if not imports and not self._import_in_header("threading"):
                return None
            prelude = (f"{lock} = {ref}.Lock()",)
        return Fix(title, Safety.UNSAFE, replacements, imports=imports, prelude=prelude)  # type: ignore[arg-type]

    def _block_chain(self, node: cst.CSTNode) -> list[tuple[cst.IndentedBlock, cst.BaseStatement]] | None:
        """(block, the statement of that block holding ``node``) from the innermost block out to
        the function's body; None outside a function or where a one-line suite is in the way."""
        chain: list[tuple[cst.IndentedBlock, cst.BaseStatement]] = []
        child, parent = node, self.ctx.parent(node)
        while parent is not None:
            if isinstance(parent, cst.IndentedBlock) and isinstance(child, cst.BaseStatement):
                chain.append((parent, child))
                if isinstance(self.ctx.parent(parent), (cst.FunctionDef, cst.ClassDef)):
                    return chain
            if isinstance(parent, (cst.Lambda, cst.Module, cst.ClassDef)):
                return None
            child, parent = parent, self.ctx.parent(parent)
        return None

    def _mentions_lock(self, stmt: cst.CSTNode, lock: str) -> bool:
        todo: list[cst.CSTNode] = [stmt]
        while todo:
            node = todo.pop()
            if self._is_ref(node, lock):
                return True
            todo.extend(node.children)
        return False

    def _is_ref(self, node: cst.CSTNode, ref: str) -> bool:
        """``node`` is the name or attribute chain ``ref`` (``_lock``, ``self._lock``)."""
        if isinstance(node, cst.Name):
            return node.value == ref
        if isinstance(node, cst.Attribute) and "." in ref:
            return source_name(node) == ref
        return False

    def class_lock(self, func: cst.FunctionDef) -> str | None:
        """``self.X`` when the class of method ``func`` keeps one lock in an attribute
        (``self._lock = threading.Lock()`` in one of its methods)."""
        cls = self.owner_class(func)
        if cls is None:
            return None
        ctors = LOCK_CTORS | INTERPROCESS_LOCKS | set(self.config.lock_names)
        found: set[str] = set()
        for call, owner in self.calls:
            if not isinstance(owner, cst.FunctionDef) or self.owner_class(owner) is not cls:
                continue
            if not self.ctx.qualified_names(call.func) & ctors:
                continue
            parent = self.ctx.parent(call)
            targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else []
            for target in targets:
                if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
                    found.add(f"self.{target.attr.value}")
        return found.pop() if len(found) == 1 else None

    def _import_in_header(self, module: str) -> bool:
        """The module's ``import threading`` sits in its leading import block (where preludes go)."""
        for i, stmt in enumerate(self.ctx.module.body):
            is_doc = (
                i == 0
                and isinstance(stmt, cst.SimpleStatementLine)
                and len(stmt.body) == 1
                and isinstance(stmt.body[0], cst.Expr)
                and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
            )
            if is_doc:
                continue
            if not (isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)):
                return False
            for small in stmt.body:
                if isinstance(small, cst.Import) and any(source_name(a.name) == module for a in small.names):
                    return True
        return False

    def _wrap_target(
        self, node: cst.CSTNode, lock: str
    ) -> tuple[cst.CSTNode | None, cst.CSTNode | None]:
        ctx = self.ctx
        item = [cst.WithItem(item=cst.parse_expression(lock))]
        current: cst.CSTNode | None = node
        while current is not None:
            parent = ctx.parent(current)
            if isinstance(current, cst.BaseSmallStatement) and isinstance(parent, cst.SimpleStatementSuite):
                body = list(parent.body)
                body[-1] = body[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
                line = cst.SimpleStatementLine(body=body, trailing_whitespace=parent.trailing_whitespace)
                with_node = cst.With(items=item, body=cst.IndentedBlock(body=[line]))
                return parent, cst.IndentedBlock(body=[with_node])
            if isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                if not isinstance(parent, cst.IndentedBlock):
                    return None, None
                if isinstance(current, (cst.FunctionDef, cst.ClassDef)):
                    return None, None
                if isinstance(current, cst.With) and current.asynchronous is None:
                    items = list(current.items)
                    mine = [i for i in items if isinstance(i.item, cst.Name) and i.item.value == lock and i.asname is None]
                    if mine:
                        # ``with open(PATH, "a") as f, LOCK:`` takes the lock too late: take it first
                        # (wrapping would take a non-reentrant lock twice)
                        ordered = [mine[0], *(i for i in items if i is not mine[0])]
                        last = len(ordered) - 1
                        items = [
                            i.with_changes(comma=cst.MaybeSentinel.DEFAULT if n == last else cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                            for n, i in enumerate(ordered)
                        ]
                        return current, current.with_changes(items=items)
                inner = current.with_changes(leading_lines=())
                wrapped = cst.With(items=item, body=cst.IndentedBlock(body=[inner]), leading_lines=current.leading_lines)
                return current, wrapped
            if isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.Module)):
                return None, None
            current = parent
        return None, None


class _Collector(cst.CSTVisitor):
    """One walk over the module: functions, classes, calls with the function that makes them."""

    def __init__(self) -> None:
        super().__init__()
        self.owners: list[Callable_ | None] = []
        self.functions: list[cst.FunctionDef] = []
        self.classes: list[cst.ClassDef] = []
        self.calls: list[tuple[cst.Call, Callable_ | None]] = []
        self.lambdas: list[tuple[cst.Lambda, Callable_ | None]] = []
        self.withs: list[cst.With] = []

    @property
    def owner(self) -> Callable_ | None:
        return self.owners[-1] if self.owners else None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node)

    def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self.owners.append(node)

    def leave_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self.owners.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.lambdas.append((node, self.owner))

    def visit_Lambda_body(self, node: cst.Lambda) -> None:
        self.owners.append(node)

    def leave_Lambda_body(self, node: cst.Lambda) -> None:
        self.owners.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node)

    def visit_ClassDef_body(self, node: cst.ClassDef) -> None:
        self.owners.append(None)

    def leave_ClassDef_body(self, node: cst.ClassDef) -> None:
        self.owners.pop()

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append((node, self.owner))

    def visit_With(self, node: cst.With) -> None:
        if node.asynchronous is None:
            self.withs.append(node)


def statement_text(ctx: Context, node: cst.CSTNode, limit: int = 60) -> str:
    """Source of ``node`` on one line, shortened for messages."""
    text = " ".join(ctx.module.code_for_node(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ThreadedRule(Rule):
    """Shared plumbing of the ASL3xx rules: the prefilter and "is this node in a threaded function
    with no lock held"."""

    markers = THREAD_MARKERS

    @classmethod
    def markers_for_config(cls, config: Config) -> tuple[bytes, ...]:
        # a configured entry point (``myapp.jobs.background``) can appear without any framework marker
        extra = tuple(entry.rsplit(".", 1)[-1].encode() for entry in config.thread_entrypoints)
        return (*cls.markers, *extra)

    def threaded_here(self, node: cst.CSTNode) -> tuple[Threads, cst.FunctionDef, Why] | None:
        func = self.ctx.current_function
        if func is None or func.asynchronous is not None:
            return None
        threads = facts(self.ctx)
        why = threads.threaded(func)
        if why is None or threads.locked(node):
            return None
        return threads, func, why
