"""Applying fixes: conflicts, imports, module preludes, validation, the fix-until-converged loop."""
from __future__ import annotations

import collections
import difflib
import io
import os
import re
import tempfile
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import MetadataWrapper

from asynclint import registry
from asynclint.config import Config
from asynclint.engine import Result, could_match, lint_bytes
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

    @property
    def changed(self) -> bool:
        return self.source != self.original


def applicable(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and (unsafe or finding.fix.safety is Safety.SAFE)


class _Replacer(cst.CSTTransformer):
    def __init__(self, replacements: dict[int, object]) -> None:
        super().__init__()
        self.replacements = replacements

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> object:  # type: ignore[override]
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
    new = module.visit(_Replacer(replacements)) if replacements else module
    removals = _imports_fixes_may_orphan(module, new, fixes)
    preludes = _unique(p for fix in fixes for p in fix.prelude)
    if preludes:
        new = _insert_prelude(new, preludes)
    present = _module_level_imports(new)
    imports = [i for i in _unique(i for fix in fixes for i in fix.imports) if (i.module, i.name) not in present]
    if imports:
        context = CodemodContext()
        for spec in imports:
            if spec.name is None:
                AddImportsVisitor.add_needed_import(context, spec.module)
            else:
                AddImportsVisitor.add_needed_import(context, spec.module, spec.name)
        new = AddImportsVisitor(context).transform_module(new)
    if removals is not None:
        # only the imports the replaced code used, and only where nothing else uses them now
        new = _RemoveOrphanedImports(removals).transform_module(new)
    return new


def _free_names(node: cst.CSTNode, out: set[str]) -> None:
    """Names ``node`` reads (not attribute names after a dot, not keyword argument names)."""
    if isinstance(node, cst.Name):
        out.add(node.value)
    elif isinstance(node, cst.Attribute):
        _free_names(node.value, out)
    elif isinstance(node, cst.Arg):
        _free_names(node.value, out)
    else:
        for child in node.children:
            _free_names(child, out)


class _RemoveOrphanedImports(RemoveImportsVisitor):
    """libcst's RemoveImportsVisitor, leaving imports inside ``try:`` and ``if`` blocks alone: those
    are deliberate (optional dependencies, version checks, ``TYPE_CHECKING``)."""

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self._guarded = 0

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

    def leave_Import(
        self, original_node: cst.Import, updated_node: cst.Import
    ) -> cst.Import | cst.RemovalSentinel:
        if self._guarded:
            return updated_node
        return super().leave_Import(original_node, updated_node)

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom | cst.RemovalSentinel:
        if self._guarded:
            return updated_node
        return super().leave_ImportFrom(original_node, updated_node)


def _imports_fixes_may_orphan(module: cst.Module, new: cst.Module, fixes: Sequence[Fix]) -> CodemodContext | None:
    """The imports the fixes' target nodes refer to, scheduled for removal if unused after the fix
    (``import time`` once the last ``time.sleep`` became ``asyncio.sleep``).

    Scope analysis of the whole module is costly (JSON output applies each fix on its own), so it
    runs only when a name the targets used now occurs at most once in the new text (its import)."""
    targets = [target for fix in fixes for target, _ in fix.replacements]
    names: set[str] = set()
    for target in targets:
        _free_names(target, names)
    if not names:
        return None
    code = new.code
    if all(len(re.findall(rf"(?<![\w.]){re.escape(name)}(?!\w)", code)) > 1 for name in names):
        return None
    context = CodemodContext(wrapper=MetadataWrapper(module, unsafe_skip_copy=True))
    for target in targets:
        RemoveImportsVisitor.remove_unused_import_by_node(context, target)
    return context if context.scratch.get(RemoveImportsVisitor.CONTEXT_KEY) else None


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
    #: fixes found to add a finding of some rule: never offered again for this file
    rejected: set[tuple[str, str, str]] = set()
    #: the round before: its source, its lint, and the findings whose fixes it applied
    previous: tuple[bytes, Result, list[Finding]] | None = None
    for round_ in range(MAX_ROUNDS + 1):
        lint = lint_bytes(current, path, config, rules)
        if first is None:
            first = lint
        if previous is not None and lint.error is None and _grew(previous[1], lint):
            # a fix must never create findings (an async handler made threaded that then races):
            # undo the round, find the fixes that added findings, and go on without them
            current, lint, applied = previous
            rejected |= {_fix_key(f) for f in _adding_findings(lint, applied, path, config, rules)}
            out.fixed -= len(applied)
        previous = None
        out.lint = lint
        if lint.error is not None:
            error = lint.error if round_ == 0 else f"after applying fixes: {lint.error}"
            break
        if round_ == 0 and not lint.parsed:
            problem = _unparseable(source, lint, rules)
            if problem is not None:
                error = f"{problem}; not fixed"
                break
        fixable = [f for f in lint.findings if applicable(f, unsafe) and _fix_key(f) not in rejected]
        if not fixable or lint.module is None:
            out.remaining = lint.findings
            out.source = current
            return out
        if round_ == MAX_ROUNDS:
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
            new_module = apply_fixes(lint.module, chosen)
            new_source = new_module.bytes
            cst.parse_module(new_source)
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


def _grew(before: Result, after: Result) -> bool:
    """Some rule has more findings after a round of fixes than before it."""
    old = _counts(before)
    return any(n > old[code] for code, n in _counts(after).items())


def _fix_key(finding: Finding) -> tuple[str, str, str]:
    """Names a finding's fix across rounds (lines move as other fixes apply)."""
    return (finding.code, finding.message, finding.fix.title if finding.fix is not None else "")


def _adding_findings(
    lint: Result, applied: list[Finding], path: str, config: Config, rules: Sequence[type[Rule]]
) -> list[Finding]:
    """The findings among ``applied`` whose fix alone adds a finding of some rule; all of them when
    no single one does (then only their combination does)."""
    assert lint.module is not None
    culprits = []
    for finding in applied:
        assert finding.fix is not None
        alone = apply_fixes(lint.module, [finding.fix]).bytes
        if _grew(lint, lint_bytes(alone, path, config, rules)):
            culprits.append(finding)
    return culprits or applied


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _unparseable(source: bytes, lint: Result, rules: Sequence[type[Rule]]) -> str | None:
    """Why a file that the engine did not parse cannot be fixed, or None when it was merely skipped
    (``skip-file``, no rule can match). Where ASL001 is reported, that finding says it already."""
    if any(f.code == registry.SYNTAX_ERROR_CODE for f in lint.findings):
        return None
    if is_skipped_file(source) or not could_match(source, rules):
        return None
    try:
        cst.parse_module(source)
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


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and a rename, keeping the file's permissions.

    A symlink is followed (the file it points to is replaced, the link stays). On any failure the
    original is untouched and the temporary file removed."""
    target = Path(os.path.realpath(path))
    mode = target.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".asynclint")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
