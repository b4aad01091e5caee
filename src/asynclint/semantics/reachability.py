"""Which functions an entry point reaches: resolving callees (names, methods, partials), the call graph walk, and how messages describe the path and the pool.

A part of :class:`asynclint.semantics.threads.Threads`, which mixes these parts together."""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import Assignment

from asynclint.semantics import concurrency
from asynclint.semantics.frameworks import Registration
from asynclint.semantics.thread_common import (
    _MAX_RESOLVE_DEPTH,
    Callable_,
    Why,
)

if TYPE_CHECKING:
    from asynclint.semantics.threads import Threads


class Reachability:
    def method(self: Threads, cls: cst.ClassDef, name: str, depth: int = 0) -> cst.FunctionDef | None:
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

    def _classes_of(self: Threads, expr: cst.BaseExpression) -> list[cst.ClassDef]:
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

    def _classes_named(self: Threads, expr: cst.BaseExpression) -> list[cst.ClassDef]:
        if isinstance(expr, cst.Name):
            return [d for d in self.ctx.definitions(expr) if isinstance(d, cst.ClassDef)]
        return []

    def resolve(
        self: Threads, expr: cst.BaseExpression, owner: Callable_ | None, calls: bool = False, depth: int = 0
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

    def _loop_elements(self: Threads, name: cst.Name) -> list[cst.BaseExpression]:
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

    def _propagate(self: Threads) -> None:
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

    def threaded(self: Threads, func: Callable_ | None) -> Why | None:
        """Why ``func`` runs on a pool thread with no lock held by its callers (None: it does not,
        or every call path to it holds a lock)."""
        if func is None or (isinstance(func, cst.FunctionDef) and func.asynchronous is not None):
            return None
        return self.unlocked.get(func)

    def pool_size(self: Threads, reg: Registration) -> str:
        """How many calls of a handler run at once, where the project's configuration says so."""
        root = self.config.root
        if reg.framework == "Azure Functions":
            size = concurrency.azure_pool(self.ctx.path, root)
        elif reg.framework in ("Flask", "Django", "Django REST framework"):
            size = concurrency.gunicorn_pool(self.ctx.path, root)
        elif reg.framework in ("FastAPI", "Starlette"):
            size = self.ctx.memo("anyio_pool", lambda: concurrency.anyio_pool(self.ctx.source))  # type: ignore[assignment]
        else:
            size = None
        return size.describe() if size is not None else ""

    def describe(self: Threads, why: Why) -> str:
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
