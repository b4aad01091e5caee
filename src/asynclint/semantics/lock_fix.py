"""The lock fix: wrapping a statement, or a read-modify-write span, in `with <lock>:` and adding the lock.

A part of :class:`asynclint.semantics.threads.Threads`, which mixes these parts together."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import libcst as cst

from asynclint.rule import Fix, ImportSpec, Safety
from asynclint.semantics.frameworks import source_name

if TYPE_CHECKING:
    from asynclint.semantics.threads import Threads


class LockFix:
    def lock_fix(
        self: Threads,
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

    def lock_span_fix(self: Threads, nodes: Sequence[cst.CSTNode], lock: str, create: bool, title: str) -> Fix | None:
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
                # the with's own leading lines and its header comment stay above its first statement
                header = stmt.body.header.comment
                comment = [cst.EmptyLine(comment=header)] if header is not None else []
                opened[0] = opened[0].with_changes(
                    leading_lines=[*stmt.leading_lines, *comment, *opened[0].leading_lines]  # type: ignore[attr-defined]
                )
                inner.extend(opened)
                continue
            if self._mentions_lock(stmt, lock) or _suspends(stmt):
                return None  # a lock taken deeper inside; or held across a yield or an await
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

    def _block_chain(self: Threads, node: cst.CSTNode) -> list[tuple[cst.IndentedBlock, cst.BaseStatement]] | None:
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

    def _mentions_lock(self: Threads, stmt: cst.CSTNode, lock: str) -> bool:
        todo: list[cst.CSTNode] = [stmt]
        while todo:
            node = todo.pop()
            if self._is_ref(node, lock):
                return True
            todo.extend(node.children)
        return False

    def _is_ref(self: Threads, node: cst.CSTNode, ref: str) -> bool:
        """``node`` is the name or attribute chain ``ref`` (``_lock``, ``self._lock``)."""
        if isinstance(node, cst.Name):
            return node.value == ref
        if isinstance(node, cst.Attribute) and "." in ref:
            return source_name(node) == ref
        return False

    def _import_in_header(self: Threads, module: str) -> bool:
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
        self: Threads, node: cst.CSTNode, lock: str
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


def _suspends(stmt: cst.CSTNode) -> bool:
    """``stmt`` yields or awaits (outside nested functions): a lock around it would be held while
    the generator waits for its consumer (a streaming response) or the coroutine is suspended."""
    todo: list[cst.CSTNode] = [stmt]
    while todo:
        node = todo.pop()
        if isinstance(node, (cst.Yield, cst.Await)):
            return True
        if not isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)) or node is stmt:
            todo.extend(node.children)
    return False
