"""Where threaded functions come from: framework registrations, class-based handlers, thread and executor calls, configured entry points.

A part of :class:`asynclint.semantics.threads.Threads`, which mixes these parts together."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath
from typing import TYPE_CHECKING

import libcst as cst

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
from asynclint.semantics.thread_common import (
    BACKGROUND_TASKS,
    CLASS_HANDLERS,
    DJANGO_ROUTES,
    DURABLE_APPS,
    EXECUTOR_METHODS,
    FASTAPI_DEPENDS,
    PROCESS_EXECUTORS,
    STARLETTE_ROUTES,
    THREAD_EXECUTORS,
    THREAD_RUNNERS,
    Callable_,
    _arg,
)

if TYPE_CHECKING:
    from asynclint.semantics.threads import Threads


class EntryPoints:
    def _add_entry(self: Threads, targets: Iterable[Callable_], registration: Registration) -> None:
        for target in targets:
            if isinstance(target, cst.FunctionDef) and target.asynchronous is not None:
                continue
            self.entries.setdefault(target, registration)

    def _find_entries(self: Threads) -> None:
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

    def _azure_v1(self: Threads, func: cst.FunctionDef) -> Registration | None:
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

    def _imports(self: Threads, *modules: str) -> bool:
        """The module imports one of ``modules`` or a submodule (``import x``, ``from x import y``)."""
        return any(
            key.removeprefix("from:") == m or key.removeprefix("from:").startswith(m + ".")
            for key in self.ctx.imports
            for m in modules
        )

    def _django_view(self: Threads, func: cst.FunctionDef) -> Registration | None:
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

    def _configured_name(self: Threads, names: set[str]) -> str | None:
        for entry in self.config.thread_entrypoints:
            if entry in names:
                return entry
        return None

    def _local_match(self: Threads, local: str) -> str | None:
        """A configured qualified name that names the module-local ``local`` (``pkg.jobs.run``)."""
        stem = PurePath(self.ctx.path).stem
        if stem == "__init__":
            stem = PurePath(self.ctx.path).parent.name
        for entry in self.config.thread_entrypoints:
            if entry == local or entry.endswith(f"{stem}.{local}"):
                return entry
        return None

    def _configured(self: Threads, func: cst.FunctionDef) -> Registration | None:
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

    def _class_entries(self: Threads, cls: cst.ClassDef) -> None:
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

    def _executor_kind(self: Threads, expr: cst.BaseExpression) -> str | None:
        instances = {n[:-2] for n in self.ctx.instance_names(expr) if n.endswith("()")}
        if instances & PROCESS_EXECUTORS:
            return "process"
        if instances & THREAD_EXECUTORS:
            return "thread"
        # a parameter annotated with the pool's class (``pool: ThreadPoolExecutor``)
        if self._annotated(expr, frozenset(PROCESS_EXECUTORS)):
            return "process"
        if self._annotated(expr, frozenset(THREAD_EXECUTORS)):
            return "thread"
        return None

    def _call_entry(self: Threads, call: cst.Call, owner: Callable_ | None) -> tuple[cst.BaseExpression, Registration] | None:
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

    def _annotated(self: Threads, expr: cst.BaseExpression, types: frozenset[str]) -> bool:
        """``expr`` is a parameter annotated with one of ``types`` (``tasks: BackgroundTasks``)."""
        if not isinstance(expr, cst.Name):
            return False
        return any(
            isinstance(node, cst.Param)
            and node.annotation is not None
            and bool(self.ctx.qualified_names(node.annotation.annotation) & types)
            for node in self.ctx.definitions(expr)
        )

    def _durable(self: Threads, func: cst.FunctionDef) -> Registration | None:
        for decorator in func.decorators:
            expr = decorator.decorator
            target = expr.func if isinstance(expr, cst.Call) else expr
            if isinstance(target, cst.Attribute):
                apps = {n[:-2] for n in self.ctx.instance_names(target.value) if n.endswith("()")}
                if apps & DURABLE_APPS:
                    return Registration("Azure Functions", f"@{source_name(target)}", decorator, AZURE_POOL)
        return None
