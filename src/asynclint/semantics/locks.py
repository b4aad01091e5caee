"""What counts as a lock, where a statement is under one, and which lock guards which state.

A part of :class:`asynclint.semantics.threads.Threads`, which mixes these parts together."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import Assignment, GlobalScope

from asynclint.semantics.thread_common import (
    _LOCK_WORDS,
    INTERPROCESS_LOCKS,
    LOCK_CTORS,
    REENTRANT_LOCKS,
    Callable_,
    _identifier,
    same_ref,
)

if TYPE_CHECKING:
    from asynclint.semantics.threads import Threads


class Locks:
    def _lock_attributes(self: Threads) -> set[str]:
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

    def is_lock(self: Threads, expr: cst.BaseExpression) -> bool:
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
        if instances:
            return False
        if qualified and not all("." in q and not q.startswith(("builtins.", ".")) for q in qualified):
            # known, and not imported from a module (a local binding): judged by its value above
            return False
        # unknown, or imported from another module (``from .store import DATA_LOCK``): by its name
        terminal = expr.attr.value if isinstance(expr, cst.Attribute) else expr.value if isinstance(expr, cst.Name) else None
        if isinstance(expr, cst.Subscript):
            root = expr.value
            terminal = root.attr.value if isinstance(root, cst.Attribute) else root.value if isinstance(root, cst.Name) else None
        if terminal is None:
            return False
        words = set(terminal.lower().strip("_").split("_"))
        return bool(words & _LOCK_WORDS) or (terminal.lower().endswith("lock") and not terminal.lower().endswith(("block", "clock")))

    def _local_lock(self: Threads, expr: cst.BaseExpression) -> bool:
        """A lock bound to a local of the function that uses it: every call makes a new one."""
        if not isinstance(expr, cst.Name):
            return False
        scope = self.ctx.scope_of(expr)
        if scope is None or isinstance(scope, GlobalScope):
            return False
        found = list(scope[expr.value])  # type: ignore[index]
        return bool(found) and all(isinstance(a, Assignment) and a.scope is scope for a in found)

    def _lock_call(self: Threads, stmt: cst.CSTNode, method: str) -> cst.BaseExpression | None:
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

    def _held_before(self: Threads, body: Iterable[cst.CSTNode], child: cst.CSTNode) -> bool:
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

    def _releases(self: Threads, stmt: cst.CSTNode) -> list[cst.BaseExpression]:
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

    def locked(self: Threads, node: cst.CSTNode) -> bool:
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

    def lock_withs(self: Threads, node: cst.CSTNode) -> set[int]:
        """The ``with <lock>:`` statements of its function whose body holds ``node`` (by id)."""
        out: set[int] = set()
        child, parent = node, self.ctx.parent(node)
        while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.Module)):
            if isinstance(parent, cst.With) and child is parent.body and any(self.is_lock(i.item) for i in parent.items):
                out.add(id(parent))
            child, parent = parent, self.ctx.parent(parent)
        return out

    def lock_names_around(self: Threads, node: cst.CSTNode) -> set[str]:
        """The module-level lock names of the ``with <lock>:`` statements holding ``node``."""
        out: set[str] = set()
        module_locks = self._module_lock_names()
        child, parent = node, self.ctx.parent(node)
        while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.Module)):
            if isinstance(parent, cst.With) and child is parent.body:
                out |= {i.item.value for i in parent.items if isinstance(i.item, cst.Name) and i.item.value in module_locks}
            child, parent = parent, self.ctx.parent(parent)
        return out

    def locked_together(self: Threads, nodes: Sequence[cst.CSTNode]) -> bool:
        """One lock is held across all of ``nodes``: a ``with <lock>:`` holds them all, or (locks
        taken by ``acquire()``, which are not followed across statements) each is under a lock."""
        withs = [self.lock_withs(n) for n in nodes]
        if set.intersection(*withs):
            return True
        return not any(withs) and all(self.locked(n) for n in nodes)

    def _module_lock_names(self: Threads) -> dict[str, str]:
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

    def module_names(self: Threads) -> set[str]:
        """The names bound at module level (assignments, functions, classes, imports)."""
        return set(self._module_lock_names())

    def guarding_lock(self: Threads, state: str | None, literal: str | None) -> str | None:
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

    def _mentions(self: Threads, body: cst.CSTNode, state: str | None, literal: str | None) -> bool:
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
        self: Threads, state: str | None, literal: str | None, base: str, func: Callable_ | None = None
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

    def class_lock(self: Threads, func: cst.FunctionDef) -> str | None:
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

    def reentries(self: Threads) -> list[tuple[cst.FunctionDef, str]]:
        """Self-deadlocks: a function that takes a module-level non-reentrant lock (``with L:``)
        while a caller of it holds the same lock around the call, directly or through sync calls
        of this module (up to a few levels). The fix engine undoes lock fixes that create one."""
        kinds = self._module_lock_names()
        takes: dict[cst.FunctionDef, set[str]] = {}
        for with_node in self.withs:
            owner = self._with_owner(with_node)
            if owner is None:
                continue
            for item in with_node.items:
                if isinstance(item.item, cst.Name) and kinds.get(item.item.value) == "lock":
                    takes.setdefault(owner, set()).add(item.item.value)
        if not takes:
            return []
        out: list[tuple[cst.FunctionDef, str]] = []
        for call, caller in self.calls:
            if caller is None:
                continue
            held = self.lock_names_around(call) & {n for n, k in kinds.items() if k == "lock"}
            if not held:
                continue
            seen: set[int] = set()
            todo = [(callee, 0) for callee in self.resolve(call.func, caller, calls=True)]
            while todo:
                callee, depth = todo.pop()
                if not isinstance(callee, cst.FunctionDef) or callee.asynchronous is not None or id(callee) in seen:
                    continue
                seen.add(id(callee))
                for lock in takes.get(callee, set()) & held:
                    out.append((callee, lock))
                if depth < 4:
                    todo += [
                        (inner, depth + 1)
                        for inner_call, inner_owner in self.calls
                        if inner_owner is callee
                        for inner in self.resolve(inner_call.func, callee, calls=True)
                    ]
        return out

    def _with_owner(self: Threads, node: cst.CSTNode) -> cst.FunctionDef | None:
        parent: cst.CSTNode | None = self.ctx.parent(node)
        while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.Module)):
            parent = self.ctx.parent(parent)
        return parent if isinstance(parent, cst.FunctionDef) else None
