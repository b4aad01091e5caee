"""Threaded functions of one module (ASL3xx): the facts the ASL3xx rules share.

:class:`Threads` is computed once per module (:func:`facts`) and mixes together one part per concern,
each in its own file:

- ``entrypoints.py``: where threaded functions come from (frameworks, executors, threads, config);
- ``reachability.py``: resolving callees and walking the call graph from the entry points;
- ``locks.py``: what is a lock, what is under one, which lock guards which state;
- ``lock_fix.py``: the fix that takes a lock around a statement or a read-modify-write span;
- ``shared_state.py``: module-level state, instances shared by threads, fixed file paths;
- ``thread_common.py``: the tables of qualified names and small node helpers they all use.

Here: the class itself (the module's functions, classes, calls and bindings), the one-walk
collector, and :class:`ThreadedRule`, the base of the ASL3xx rules.
"""
from __future__ import annotations

from collections.abc import Iterable

import libcst as cst
from libcst.metadata import Assignment, GlobalScope, PositionProvider

from asynclint.config import Config
from asynclint.rule import Rule
from asynclint.semantics import Context
from asynclint.semantics.entrypoints import EntryPoints
from asynclint.semantics.frameworks import Registration
from asynclint.semantics.lock_fix import LockFix
from asynclint.semantics.locks import Locks
from asynclint.semantics.reachability import Reachability
from asynclint.semantics.shared_state import SharedState
from asynclint.semantics.thread_common import (
    FILE_IO_METHODS,
    OPENERS,
    PROCESS_EXECUTORS,
    THREAD_EXECUTORS,
    Callable_,
    Why,
    _arg,
    reads,
    same_ref,
)
from asynclint.specs import THREAD_MARKERS

#: what the rules and the engine import from here (the tables and helpers live in thread_common)
__all__ = [
    "FILE_IO_METHODS",
    "OPENERS",
    "THREAD_MARKERS",
    "Callable_",
    "ThreadedRule",
    "Threads",
    "Why",
    "_arg",
    "facts",
    "reads",
    "same_ref",
    "statement_text",
]


def facts(ctx: Context) -> Threads:
    """The module's thread facts, computed once per file and shared by the ASL3xx rules."""
    return ctx.memo("threads", lambda: Threads(ctx))  # type: ignore[return-value]


class Threads(EntryPoints, Reachability, Locks, LockFix, SharedState):
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

    def display(self, func: Callable_) -> str:
        """``handler`` or ``Worker.run`` (``<lambda>`` for lambdas)."""
        if isinstance(func, cst.Lambda):
            return "<lambda>"
        parts = [func.name.value]
        cls = self.owner_class(func)
        if cls is not None:
            parts.insert(0, cls.name.value)
        return ".".join(parts)

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

    def line(self, node: cst.CSTNode) -> int:
        positions = self.ctx.memo("positions", lambda: self.ctx.wrapper.resolve(PositionProvider))
        return positions[node].start.line  # type: ignore[index]


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
