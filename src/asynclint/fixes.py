"""Applying fixes: conflicts, imports, module preludes, validation, the fix-until-converged loop."""
from __future__ import annotations

import collections
import difflib
import errno
import io
import os
import re
import stat
import tempfile
import tokenize
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import MetadataWrapper, ScopeProvider
from libcst.metadata.scope_provider import BaseAssignment

from asynclint import registry
from asynclint.config import Config
from asynclint.engine import (
    Result,
    could_match,
    deep_recursion,
    lint_bytes,
    parse_source,
)
from asynclint.noqa import is_skipped_file
from asynclint.rule import Finding, Fix, Rule, Safety

#: rounds of fix -> re-lint before giving up on convergence
MAX_ROUNDS = 10


class FixError(Exception):
    """Fixing a file failed; the file is left as it was."""


@dataclass
class FixResult:
    path: str
    original: bytes
    source: bytes
    fixed: int = 0
    #: findings left after the last round (what --fix could not or may not fix)
    remaining: list[Finding] = field(default_factory=list)
    error: str | None = None
    lint: Result | None = None
    #: the lint of the original text: what stays true when the fixed text cannot be written
    before: Result | None = None

    @property
    def changed(self) -> bool:
        return self.source != self.original


def applicable(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and (unsafe or finding.fix.safety is Safety.SAFE)


class _Replacer(cst.CSTTransformer):
    """Puts each replacement where its original node was. ``marks`` names original import nodes
    whose aliases binding some names must go: their nodes in the new tree are noted in ``marked``."""

    def __init__(self, replacements: dict[int, object], marks: dict[int, set[str]] | None = None) -> None:
        super().__init__()
        self.replacements = replacements
        self.marks = marks or {}
        self.marked: dict[int, set[str]] = {}

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> object:  # type: ignore[override]
        names = self.marks.get(id(original_node))
        if names is not None:
            self.marked[id(updated_node)] = names
        return self.replacements.get(id(original_node), updated_node)


def _descendants(node: cst.CSTNode) -> set[int]:
    out: set[int] = set()
    todo = [node]
    while todo:
        current = todo.pop()
        out.add(id(current))
        todo.extend(current.children)
    return out


def select_fixes(fixes: Sequence[Fix]) -> list[Fix]:
    """Non-overlapping fixes, outer first; a fix inside another one's target waits for the next round."""
    sized = []
    for fix in fixes:
        covered: set[int] = set()
        for target, _ in fix.replacements:
            covered |= _descendants(target)
        sized.append((len(covered), covered, fix))
    sized.sort(key=lambda item: -item[0])
    chosen: list[Fix] = []
    taken: set[int] = set()
    for _, covered, fix in sized:
        if covered & taken:
            continue
        taken |= covered
        chosen.append(fix)
    return chosen


def apply_fixes(module: cst.Module, fixes: Iterable[Fix]) -> cst.Module:
    """Apply already-selected, non-overlapping fixes to ``module`` (the tree their targets belong to)."""
    fixes = list(fixes)
    replacements: dict[int, object] = {}
    for fix in fixes:
        for target, replacement in fix.replacements:
            replacements[id(target)] = replacement
    preludes = _unique(p for fix in fixes for p in fix.prelude)
    # only the imports the replaced code used, and only where nothing else uses them now
    unused, marks = _orphaned_imports(module, fixes, preludes)
    replacer = _Replacer(replacements, marks)
    new = module.visit(replacer) if replacements else module
    if replacer.marked:
        new = new.visit(_RemoveOrphanedImports(lambda node, name: name in replacer.marked.get(id(node), ())))
    if preludes:
        new = _insert_prelude(new, preludes)
    present = _module_level_imports(new)
    imports = [i for i in _unique(i for fix in fixes for i in fix.imports) if (i.module, i.name) not in present]
    if imports:
        # libcst.codemod imports libcst.matchers (a quarter second): only when a fix adds an import
        from libcst.codemod import CodemodContext
        from libcst.codemod.visitors import AddImportsVisitor

        context = CodemodContext()
        for spec in imports:
            if spec.name is None:
                AddImportsVisitor.add_needed_import(context, spec.module)
            else:
                AddImportsVisitor.add_needed_import(context, spec.module, spec.name)
        new = AddImportsVisitor(context).transform_module(new)
    if unused:
        new = new.visit(_RemoveOrphanedImports(lambda node, name: name in unused))
    return new


#: identifiers inside a string literal: ``__all__`` entries and string annotations use names too
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _NameUses(cst.CSTVisitor):
    """Counts the names a tree reads: every ``Name`` except attribute names after a dot, keyword
    argument names and the names in import statements, plus the identifiers in string literals other
    than docstring-like statements (``__all__``, string annotations). Over-counting only keeps an
    import, so everything that might be a use counts (a parameter or a local of the same name too).

    ``imported`` collects the names bound by imports outside ``try:``/``if`` (the removable ones)."""

    def __init__(self, counts: collections.Counter[str] | None = None) -> None:
        super().__init__()
        self.counts: collections.Counter[str] = collections.Counter() if counts is None else counts
        self.imported: set[str] = set()
        #: the identifiers counted from strings (scope analysis does not see all of them)
        self.in_strings: set[str] = set()
        self._guarded = 0

    def visit_Name(self, node: cst.Name) -> None:
        self.counts[node.value] += 1

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_Import(self, node: cst.Import) -> bool:
        if not self._guarded:
            self.imported.update(n for n in (_bound_name(a, False) for a in node.names) if n)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if not self._guarded and not isinstance(node.names, cst.ImportStar):
            self.imported.update(n for n in (_bound_name(a, True) for a in node.names) if n)
        return False

    def visit_Expr(self, node: cst.Expr) -> bool:
        return not isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString))

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        names = _IDENTIFIER.findall(node.value)
        self.counts.update(names)
        self.in_strings.update(names)

    def visit_Try(self, node: cst.Try) -> None:
        self._guarded += 1

    def leave_Try(self, original_node: cst.Try) -> None:
        self._guarded -= 1

    def visit_TryStar(self, node: cst.TryStar) -> None:
        self._guarded += 1

    def leave_TryStar(self, original_node: cst.TryStar) -> None:
        self._guarded -= 1

    def visit_If(self, node: cst.If) -> None:
        self._guarded += 1

    def leave_If(self, original_node: cst.If) -> None:
        self._guarded -= 1


def _uses(node: cst.CSTNode, counts: collections.Counter[str]) -> None:
    node.visit(_NameUses(counts))


class _ModuleNames:
    """What the orphaned-import check needs of one parsed module, computed once however many times
    ``apply_fixes`` runs on that tree (once per round, or once per fix for JSON edits): one cheap
    pass counting name uses, and - only when a shadowed name needs it - libcst's scope analysis."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        visitor = _NameUses()
        module.visit(visitor)
        self.uses = visitor.counts
        self.imported = visitor.imported
        self.in_strings = visitor.in_strings
        self._assignments: dict[str, list[BaseAssignment]] | None = None

    def assignments(self, name: str) -> list[BaseAssignment]:
        """Every binding of ``name`` in every scope of the module (imports, assignments, params...)."""
        if self._assignments is None:
            wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
            found: dict[str, list[BaseAssignment]] = collections.defaultdict(list)
            seen: set[int] = set()
            for scope in wrapper.resolve(ScopeProvider).values():
                if scope is None or id(scope) in seen:
                    continue
                seen.add(id(scope))
                for assignment in scope.assignments:
                    found[assignment.name].append(assignment)
                    if "." in assignment.name:  # `import a.b` binds `a`
                        found[assignment.name.split(".", 1)[0]].append(assignment)
            self._assignments = found
        return self._assignments.get(name, [])


#: the facts of the last module fixes were applied to; one entry (libcst nodes take no weak
#: references), so at most one extra tree stays alive
_last_module: _ModuleNames | None = None


def _module_names(module: cst.Module) -> _ModuleNames:
    global _last_module
    if _last_module is None or _last_module.module is not module:
        _last_module = _ModuleNames(module)
    return _last_module


def _orphaned_imports(
    module: cst.Module, fixes: Sequence[Fix], preludes: Sequence[object]
) -> tuple[set[str], dict[int, set[str]]]:
    """The imports the fixes' targets used that nothing uses once the fixes are applied (``import
    time`` once the last ``time.sleep`` became ``asyncio.sleep``), not counting ``try:``/``if`` ones.

    Returns the names that nothing reads any more (every import binding one goes), and, for names
    still read elsewhere, the import nodes (by id) whose binding only the replaced code read: a local
    ``s = print`` elsewhere must not keep ``from time import sleep as s``.

    Uses after the fixes are counted without walking the new tree: the module's uses (counted once
    per tree) minus the targets' plus the replacements' and the preludes'. The fixes do not overlap,
    so no use is subtracted twice. Scope analysis runs only for names read elsewhere, once per tree."""
    removed: collections.Counter[str] = collections.Counter()
    added: collections.Counter[str] = collections.Counter()
    targets: list[cst.CSTNode] = []
    for fix in fixes:
        for target, replacement in fix.replacements:
            targets.append(target)
            _uses(target, removed)
            if isinstance(replacement, cst.CSTNode):
                _uses(replacement, added)
            elif isinstance(replacement, cst.FlattenSentinel):
                for node in replacement.nodes:
                    _uses(node, added)
    if not removed:
        return set(), {}
    for text in preludes:
        try:
            _uses(cst.parse_module(str(text)), added)
        except Exception:  # a prelude that does not parse fails later, with a clear error
            continue
    facts = _module_names(module)
    candidates = {name for name in removed if name in facts.imported and added[name] == 0}
    unused = {name for name in candidates if facts.uses[name] - removed[name] <= 0}
    # a name some string holds (``__all__``) may be read where scope analysis does not see it
    shadowed = {name for name in candidates - unused if name not in facts.in_strings}
    marks: dict[int, set[str]] = {}
    if shadowed:
        covered: set[int] = set()
        for target in targets:
            covered |= _descendants(target)
        for name in shadowed:
            bindings = facts.assignments(name)
            if any(_binding_node(b) in covered for b in bindings):
                continue  # a fix changes what the name is bound to: leave its imports alone
            by_import: dict[int, bool] = {}
            for binding in bindings:
                node = getattr(binding, "node", None)
                if isinstance(node, (cst.Import, cst.ImportFrom)):
                    read = any(id(access.node) not in covered for access in binding.references)
                    by_import[id(node)] = by_import.get(id(node), False) or read
            for key, read in by_import.items():
                if not read:
                    marks.setdefault(key, set()).add(name)
    return unused, marks


def _binding_node(binding: BaseAssignment) -> int:
    """The id of the node that binds (for an import: the import statement)."""
    return id(getattr(binding, "node", None))


_Line = typing.TypeVar("_Line", cst.SimpleStatementLine, cst.SimpleStatementSuite)


def _without_dangling_semicolon(original_node: _Line, updated_node: _Line) -> _Line:
    """``x = 1; import time`` without the import is ``x = 1``, not ``x = 1; ``."""
    body: Sequence[cst.BaseSmallStatement] = updated_node.body
    if body and len(body) < len(original_node.body) and isinstance(body[-1].semicolon, cst.Semicolon):
        last = body[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(body=[*body[:-1], last])
    return updated_node


def _bound_name(alias: cst.ImportAlias, from_import: bool) -> str | None:
    """The name an import alias binds: ``t`` for ``import time as t``, ``a`` for ``import a.b``."""
    if alias.asname is not None:
        name = alias.asname.name
        return name.value if isinstance(name, cst.Name) else None
    node: cst.BaseExpression = alias.name
    if not from_import:
        while isinstance(node, cst.Attribute):
            node = node.value
    return node.value if isinstance(node, cst.Name) else None


class _RemoveOrphanedImports(cst.CSTTransformer):
    """Removes the import aliases ``drop`` names (by import node and bound name), except inside
    ``try:`` and ``if`` blocks: those are deliberate (optional dependencies, version checks,
    ``TYPE_CHECKING``). Relative imports need no module resolution: only the bound name matters.
    Expressions cannot hold imports, so they are not walked."""

    def __init__(self, drop: Callable[[cst.CSTNode, str], bool]) -> None:
        super().__init__()
        self.drop = drop
        self._guarded = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.BaseExpression):
            return False
        return super().on_visit(node)

    def visit_Try(self, node: cst.Try) -> None:
        self._guarded += 1

    def leave_Try(self, original_node: cst.Try, updated_node: cst.Try) -> cst.Try:
        self._guarded -= 1
        return updated_node

    def visit_TryStar(self, node: cst.TryStar) -> None:
        self._guarded += 1

    def leave_TryStar(self, original_node: cst.TryStar, updated_node: cst.TryStar) -> cst.TryStar:
        self._guarded -= 1
        return updated_node

    def visit_If(self, node: cst.If) -> None:
        self._guarded += 1

    def leave_If(self, original_node: cst.If, updated_node: cst.If) -> cst.If:
        self._guarded -= 1
        return updated_node

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock) -> cst.IndentedBlock:
        # a block whose first statement (an import) went must not start with a blank line
        body = updated_node.body
        first = body[0] if body else None
        if (
            isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
            and len(body) < len(original_node.body)
            and first is not original_node.body[0]
        ):
            lines = list(first.leading_lines)
            while lines and lines[0].comment is None:
                lines.pop(0)
            return updated_node.with_changes(body=[first.with_changes(leading_lines=lines), *body[1:]])
        return updated_node

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        return _without_dangling_semicolon(original_node, updated_node)

    def leave_SimpleStatementSuite(
        self, original_node: cst.SimpleStatementSuite, updated_node: cst.SimpleStatementSuite
    ) -> cst.SimpleStatementSuite:
        if not updated_node.body:  # `def f(): import time` keeps its only statement
            return original_node
        return _without_dangling_semicolon(original_node, updated_node)

    def _keep(
        self, node: cst.Import | cst.ImportFrom, names: Sequence[cst.ImportAlias], from_import: bool
    ) -> list[cst.ImportAlias] | None:
        """The aliases to keep, or None when all stay."""
        keep = [alias for alias in names if not self.drop(node, _bound_name(alias, from_import) or "")]
        if len(keep) == len(names):
            return None
        if keep and keep[-1] is not names[-1]:
            keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return keep

    def leave_Import(
        self, original_node: cst.Import, updated_node: cst.Import
    ) -> cst.Import | cst.RemovalSentinel:
        if self._guarded:
            return updated_node
        keep = self._keep(original_node, updated_node.names, from_import=False)
        if keep is None:
            return updated_node
        return updated_node.with_changes(names=keep) if keep else cst.RemoveFromParent()

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom | cst.RemovalSentinel:
        names = updated_node.names
        if self._guarded or isinstance(names, cst.ImportStar):
            return updated_node
        if not updated_node.relative and _dotted_name(updated_node.module or cst.Name("_")) == "__future__":
            return updated_node
        keep = self._keep(original_node, names, from_import=True)
        if keep is None:
            return updated_node
        return updated_node.with_changes(names=keep) if keep else cst.RemoveFromParent()


def _module_level_imports(module: cst.Module) -> set[tuple[str, str | None]]:
    """``(module, None)`` for each ``import module`` and ``(module, name)`` for each ``from module
    import name`` (without ``as``) at module level or in a module-level ``try:``, wherever they stand:
    libcst's AddImportsVisitor only sees the leading import block and would import them twice."""
    found: set[tuple[str, str | None]] = set()

    def scan(body: Sequence[cst.CSTNode]) -> None:
        for stmt in body:
            if isinstance(stmt, cst.Try) and isinstance(stmt.body, cst.IndentedBlock):
                scan(stmt.body.body)
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.Import):
                    for alias in small.names:
                        if alias.asname is None:
                            found.add((_dotted_name(alias.name), None))
                elif isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
                    if isinstance(small.names, Sequence):
                        for alias in small.names:
                            if alias.asname is None:
                                found.add((_dotted_name(small.module), _dotted_name(alias.name)))

    scan(module.body)
    return found


def _dotted_name(node: cst.BaseExpression) -> str:
    """``a.b.c`` for a dotted name, "" for anything else."""
    return get_full_name_for_node(node) or ""


def _unique(items: Iterable[object]) -> list:
    seen: list[object] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _is_import_stmt(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _holds_import(stmt: cst.CSTNode) -> bool:
    """An import statement, or a ``try:``/``if`` block at module level whose body imports."""
    if _is_import_stmt(stmt):
        return True
    if isinstance(stmt, (cst.Try, cst.If)) and isinstance(stmt.body, cst.IndentedBlock):
        return any(_is_import_stmt(s) for s in stmt.body.body)
    return False


def _statement_text(module: cst.Module, stmt: cst.CSTNode) -> str:
    if isinstance(stmt, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        stmt = stmt.with_changes(leading_lines=())
    return module.code_for_node(stmt).strip()


def _blank_before(stmt: cst.CSTNode) -> cst.CSTNode:
    """``stmt`` with an empty line before it (unless it already starts with one)."""
    if not isinstance(stmt, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        return stmt
    lines = list(stmt.leading_lines)
    if lines and lines[0].comment is None:
        return stmt
    return stmt.with_changes(leading_lines=[cst.EmptyLine(), *lines])


def _insert_prelude(module: cst.Module, statements: Sequence[str]) -> cst.Module:
    """Module-level statements a fix needs (a lock, a task set), once each, after the docstring and
    the imports that come before the first function or class (the statements may use them)."""
    body = list(module.body)
    index = 0
    for i, stmt in enumerate(body):
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            break
        if (i == 0 and _is_docstring(stmt)) or _holds_import(stmt):
            index = i + 1
    existing = {_statement_text(module, stmt) for stmt in body}
    new_stmts: list[cst.CSTNode] = []
    for text in statements:
        stmt = cst.parse_statement(text.strip() + "\n", config=module.config_for_parsing)
        key = _statement_text(module, stmt)
        if key in existing:
            continue
        existing.add(key)
        new_stmts.append(stmt)
    if not new_stmts:
        return module
    if index > 0:
        new_stmts[0] = _blank_before(new_stmts[0])
    after = [_blank_before(body[index]), *body[index + 1 :]] if index < len(body) else []
    return module.with_changes(body=[*body[:index], *new_stmts, *after])


def _compiles(source: bytes, path: str) -> str | None:
    try:
        compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def fix_bytes(
    source: bytes,
    path: str,
    config: Config,
    unsafe: bool = False,
    rules: Sequence[type[Rule]] | None = None,
) -> FixResult:
    """Fix until nothing changes. Never raises for bad input.

    On any failure ``source`` is the original, ``fixed`` is 0, ``lint`` and ``remaining`` describe
    the original text (the one left on disk) and ``error`` is one line starting with the path."""
    out = FixResult(path=path, original=source, source=source)
    if rules is None:
        rules = registry.enabled_rules(config)
    # the result must compile; where the original does not (newer syntax than this Python, or an
    # error only the compiler finds), the result must at least parse
    must_compile = _compiles(source, path) is None
    current = source
    first: Result | None = None
    error: str | None = None
    #: fixes found to add a finding of some rule, and the text on which that was found: once other
    #: fixes have changed the text, they are tried again (the finding they added may be gone: an
    #: ASL104 for a caller that now awaits), so a second --fix finds nothing left to do
    rejected: set[_FixKey] = set()
    rejected_on = b""
    #: the round before: its source, its lint, and the findings whose fixes it applied
    previous: tuple[bytes, Result, list[Finding]] | None = None
    rounds = 0  # rounds whose fixes were kept
    for iteration in range(4 * MAX_ROUNDS + 1):
        lint = lint_bytes(current, path, config, rules)
        if first is None:
            first = out.before = lint
        if previous is not None and lint.error is None and _grew(previous[1], lint, path, config):
            # a fix must never create findings (an async handler made threaded that then races):
            # undo the round, find the fixes that added findings, and go on without them
            current, lint, applied = previous
            keys = _fix_keys(lint)
            rejected |= {keys[id(f)] for f in _adding_findings(lint, applied, path, config, rules)}
            rejected_on = current
            out.fixed -= len(applied)
            rounds -= 1
        previous = None
        out.lint = lint
        if lint.error is not None:
            error = lint.error if iteration == 0 else f"after applying fixes: {lint.error}"
            break
        if iteration == 0 and not lint.parsed:
            problem = _unparseable(source, lint, rules)
            if problem is not None:
                error = f"{problem}; not fixed"
                break
        keys = _fix_keys(lint) if rejected else {}
        fixable = [f for f in lint.findings if applicable(f, unsafe) and keys.get(id(f)) not in rejected]
        if not fixable and rejected and rejected_on != current:
            rejected = set()  # the text changed since: try them again
            fixable = [f for f in lint.findings if applicable(f, unsafe)]
        if not fixable or lint.module is None:
            out.remaining = lint.findings
            out.source = current
            return out
        if rounds == MAX_ROUNDS or iteration == 4 * MAX_ROUNDS:
            still = ", ".join(f"{f.code} at line {f.line}" for f in fixable[:5])
            more = f" and {len(fixable) - 5} more" if len(fixable) > 5 else ""
            error = (
                f"fixes did not converge after {MAX_ROUNDS} rounds (still fixable: {still}{more}); "
                "file left unchanged"
            )
            break
        by_fix = {id(f.fix): f for f in fixable}
        chosen = select_fixes([f.fix for f in fixable if f.fix is not None])
        try:
            with deep_recursion():
                new_source = apply_fixes(lint.module, chosen).bytes
            # the engine's parse: also what libcst's parser alone refuses but Python accepts
            parse_source(new_source)
        except Exception as exc:  # a fix that breaks the tree is a bug: report it, keep the file
            error = f"a fix produced invalid code ({_one_line(exc)}); file left unchanged"
            break
        if must_compile:
            problem = _compiles(new_source, path)
            if problem is not None:
                error = f"a fix produced code that does not compile ({problem}); file left unchanged"
                break
        if new_source == current:
            error = "a fix changed nothing; file left unchanged"
            break
        out.fixed += len(chosen)
        rounds += 1
        previous = (current, lint, [by_fix[id(fix)] for fix in chosen])
        current = new_source
    out.error = f"{path}: {error}"
    out.source = source
    out.fixed = 0
    # what is reported must describe the file as it stays on disk, not an intermediate round
    out.lint = first
    out.remaining = first.findings if first is not None else []
    return out


def _counts(lint: Result) -> collections.Counter[str]:
    return collections.Counter(f.code for f in lint.findings)


def _grew(before: Result, after: Result, path: str, config: Config) -> bool:
    """Some rule has more findings after a round of fixes than before it, or the round made a
    function take a lock that a caller already holds around the call (a self-deadlock: two lock
    fixes of one round, one around a call and one inside the function it calls)."""
    old = _counts(before)
    if any(n > old[code] for code, n in _counts(after).items()):
        return True
    return _reentries(after, path, config) > _reentries(before, path, config)


def _reentries(lint: Result, path: str, config: Config) -> int:
    if lint.reentries is None:
        lint.reentries = 0
        if lint.module is not None and b"Lock" in lint.source and b"with " in lint.source:
            from libcst.metadata import MetadataWrapper

            from asynclint.semantics import Context
            from asynclint.semantics.threads import facts

            ctx = Context(MetadataWrapper(lint.module, unsafe_skip_copy=True), path, config, lint.source)
            lint.reentries = len(facts(ctx).reentries())
    return lint.reentries


#: a fix across rounds: code, message, fix title, the headers of the blocks around the finding, the
#: text of its line, and its place among findings that share all of those
_FixKey = tuple[str, str, str, tuple[str, ...], str, int]

_HEADER = re.compile(r"\s*(?:async\s+)?(?:def|class|with|for|while|if|elif|else|try|except|finally|match|case)\b")


def _fix_keys(lint: Result) -> dict[int, _FixKey]:
    """Names each finding's fix so that it is recognised in a later round, where lines have moved
    as other fixes applied: by its code, message and fix title (``time.sleep`` findings all share
    those), the enclosing blocks' header lines (``async def handler():``, ``with LOCK:``) and its own
    line's text; findings alike in all of that are told apart by their order."""
    lines = split_lines(_decode(lint.source))
    keys: dict[int, _FixKey] = {}
    seen: collections.Counter[tuple] = collections.Counter()
    for finding in lint.findings:
        at = finding.line - 1
        text = lines[at].strip() if 0 <= at < len(lines) else ""
        headers: list[str] = []
        indent = len(lines[at]) - len(lines[at].lstrip()) if 0 <= at < len(lines) else 0
        for line in reversed(lines[:max(at, 0)]):
            if indent == 0:
                break
            stripped = line.lstrip()
            depth = len(line) - len(stripped)
            if stripped.strip() and depth < indent and _HEADER.match(line):
                headers.append(stripped.strip())
                indent = depth
        title = finding.fix.title if finding.fix is not None else ""
        base = (finding.code, finding.message, title, tuple(headers), text)
        keys[id(finding)] = (*base, seen[base])
        seen[base] += 1
    return keys


def _adding_findings(
    lint: Result, applied: list[Finding], path: str, config: Config, rules: Sequence[type[Rule]]
) -> list[Finding]:
    """The findings among ``applied`` whose fix alone adds a finding of some rule; all of them when
    no single one does (then only their combination does)."""
    assert lint.module is not None
    culprits = []
    for finding in applied:
        assert finding.fix is not None
        with deep_recursion():
            alone = apply_fixes(lint.module, [finding.fix]).bytes
        if _grew(lint, lint_bytes(alone, path, config, rules), path, config):
            culprits.append(finding)
    if culprits or len(applied) < 2:
        return culprits or applied
    # only a combination adds one (two lock fixes that deadlock together): keep fixes in order
    # while the set stays clean, and reject the ones that would spoil it
    kept: list[Fix] = []
    for finding in applied:
        assert finding.fix is not None
        with deep_recursion():
            trial = apply_fixes(lint.module, [*kept, finding.fix]).bytes
        if _grew(lint, lint_bytes(trial, path, config, rules), path, config):
            culprits.append(finding)
        else:
            kept.append(finding.fix)
    return culprits or applied


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _unparseable(source: bytes, lint: Result, rules: Sequence[type[Rule]]) -> str | None:
    """Why a file that the engine did not parse cannot be fixed, or None when it was merely skipped
    (``skip-file``, no rule can match). Where ASL001 is reported, that finding says it already."""
    if lint.gated or any(f.code == registry.SYNTAX_ERROR_CODE for f in lint.findings):
        return None
    if is_skipped_file(source) or not could_match(source, rules):
        return None
    try:
        parse_source(source)
    except Exception as exc:
        return f"cannot parse file ({_one_line(exc)})"
    return None


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split only where Python ends a line (``\n``, ``\r\n``, ``\r``):
    ``str.splitlines`` also splits at form feeds and ``\u2028``, which would shift line numbers."""
    return _LINE.findall(text)


def _decode(data: bytes) -> str:
    """Source text in the file's own encoding (coding cookie or BOM, UTF-8 by default)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return data.decode("utf-8", "replace")


def unified_diff(path: str, before: bytes, after: bytes) -> str:
    """The change as a unified diff, decoded with the file's encoding; line endings are kept."""
    a = split_lines(_decode(before))
    b = split_lines(_decode(after))
    lines = list(difflib.unified_diff(a, b, fromfile=path, tofile=path))
    return "".join(
        line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n" for line in lines
    )


def write_atomic(path: Path, data: bytes, root: Path | str | None = None) -> None:
    """Write a fixed file so that it stays the same file: owner, group, mode, hard links and
    extended attributes are kept, and a run killed mid-write leaves the old or the new text.

    The new text goes to a temporary file in the same folder first (written and fsync'ed). Then:

    - a file with one link and no extended attributes is replaced by a rename of the temporary
      file, after giving it the file's mode, owner and group: atomic, the old or the new text;
    - a file with hard links (``st_nlink > 1``) or extended attributes (ACLs, SELinux labels, user
      attributes), or whose owner this user cannot give to a new file, is overwritten in place
      (truncate, write, fsync), because a rename would make a new file that drops those. The
      trade-off: a kill during that write can leave the file truncated; the temporary file is
      removed only after the write, so a kill leaves the complete new text next to it
      (``.NAME.*.asynclint``). Where the folder takes no new files, the file is written in place.

    Refused with an ``OSError`` (nothing written), whose ``strerror`` says why in one line:

    - a file that is not writable: mode without any write bit (checked on the mode bits, since
      root passes ``os.access``) or ``os.access(W_OK)`` false: ruff and editors do not write those;
    - a symlink that resolves outside the tree being linted: ``root`` (the project root) when the
      link lies inside it, else the current folder when the link lies inside that, else the folder
      holding the link; never the file system's root. A symlink inside the tree is followed (the
      file it points to is written, the link stays).
    """
    target = Path(os.path.realpath(path))
    if os.path.islink(path):
        tree = os.path.realpath(_default_tree(path, root))
        if not _is_within(str(target), tree):
            raise OSError(errno.EPERM, f"symlink points outside the linted tree (to {target}); not written")
    info = os.stat(target)
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, "not a regular file; not written")
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o222 or not os.access(target, os.W_OK):
        raise OSError(errno.EACCES, f"file is read-only (mode {mode:04o}); not written")
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".asynclint")
    except PermissionError:  # a folder that takes no new files: the file itself is writable
        _write_in_place(target, data)
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if info.st_nlink > 1 or _has_xattrs(target) or not _same_owner(tmp, info):
            _write_in_place(target, data)
            os.unlink(tmp)
            return
        os.chmod(tmp, mode)  # after chown, which clears set-user-ID bits
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(target.parent)


def _default_tree(path: Path, root: Path | str | None = None) -> str:
    absolute = os.path.abspath(path)
    for tree in (root, os.getcwd()):
        if tree is None:
            continue
        tree = os.path.abspath(tree)
        if _is_within(absolute, tree) and os.path.dirname(tree) != tree:  # not "/" or "C:\\"
            return tree
    return os.path.dirname(absolute)


def _is_within(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives
        return False


def _has_xattrs(path: Path) -> bool:
    listxattr = getattr(os, "listxattr", None)
    if listxattr is None:
        return False
    try:
        return bool(listxattr(path))
    except OSError:
        return False


def _same_owner(tmp: str, info: os.stat_result) -> bool:
    """Give ``tmp`` the owner and group of the file it replaces; False where that is not allowed."""
    current = os.stat(tmp)
    if (current.st_uid, current.st_gid) == (info.st_uid, info.st_gid):
        return True
    chown = getattr(os, "chown", None)
    if chown is None:
        return True  # no owners to keep (Windows)
    try:
        chown(tmp, info.st_uid, info.st_gid)
    except OSError:
        return False
    return True


def _write_in_place(target: Path, data: bytes) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0))
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable; not every platform can open a folder."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
