"""Applying fixes: conflicts, imports, module preludes, validation, the fix-until-converged loop."""
from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from asynclint.config import Config
from asynclint.engine import Result, lint_bytes
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
    preludes = _unique(p for fix in fixes for p in fix.prelude)
    if preludes:
        new = _insert_prelude(new, preludes)
    imports = _unique(i for fix in fixes for i in fix.imports)
    if imports:
        context = CodemodContext()
        for spec in imports:
            if spec.name is None:
                AddImportsVisitor.add_needed_import(context, spec.module)
            else:
                AddImportsVisitor.add_needed_import(context, spec.module, spec.name)
        new = AddImportsVisitor(context).transform_module(new)
    return new


def _unique(items: Iterable[object]) -> list:  # type: ignore[type-arg]
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


def _insert_prelude(module: cst.Module, statements: Sequence[str]) -> cst.Module:
    """Module-level statements a fix needs (a lock, a task set), after the docstring and imports."""
    existing = module.code
    body = list(module.body)
    index = 0
    for i, stmt in enumerate(body):
        if (i == 0 and _is_docstring(stmt)) or _is_import_stmt(stmt):
            index = i + 1
        else:
            break
    new_stmts = []
    for text in statements:
        if text.strip() in existing:
            continue
        new_stmts.append(cst.parse_statement(text.strip() + "\n", config=module.config_for_parsing))
    if not new_stmts:
        return module
    return module.with_changes(body=[*body[:index], *new_stmts, *body[index:]])


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
    """Fix until nothing changes. Never raises for bad input; on failure ``source`` is the original."""
    out = FixResult(path=path, original=source, source=source)
    # the result must compile; where the original does not (newer syntax than this Python), the
    # result must at least parse
    must_compile = _compiles(source, path) is None
    current = source
    for _round in range(MAX_ROUNDS + 1):
        lint = lint_bytes(current, path, config, rules)
        out.lint = lint
        if lint.error is not None:
            out.error = lint.error
            break
        fixable = [f.fix for f in lint.findings if applicable(f, unsafe) and f.fix is not None]
        if not fixable or lint.module is None:
            out.remaining = lint.findings
            out.source = current
            return out
        if _round == MAX_ROUNDS:
            out.error = f"fixes did not converge after {MAX_ROUNDS} rounds; file left unchanged"
            break
        chosen = select_fixes(fixable)
        try:
            new_module = apply_fixes(lint.module, chosen)
            new_source = new_module.bytes
            cst.parse_module(new_source)
        except Exception as exc:  # a fix that breaks the tree is a bug: report it, keep the file
            out.error = f"a fix produced invalid code ({type(exc).__name__}: {exc}); file left unchanged"
            break
        if must_compile:
            problem = _compiles(new_source, path)
            if problem is not None:
                out.error = f"a fix produced code that does not compile ({problem}); file left unchanged"
                break
        if new_source == current:
            out.error = "a fix changed nothing; file left unchanged"
            break
        out.fixed += len(chosen)
        current = new_source
    out.source = source
    out.fixed = 0
    out.remaining = out.lint.findings if out.lint else []
    return out


def fix_edits(result: Result, finding: Finding) -> list[dict[str, object]]:
    """The text edits one fix makes, as replaced line ranges (for JSON and SARIF output)."""
    if finding.fix is None or result.module is None:
        return []
    try:
        new = apply_fixes(result.module, [finding.fix]).code
    except Exception:
        return []
    old_lines = result.module.code.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    edits: list[dict[str, object]] = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append(
            {
                "location": {"row": i1 + 1, "column": 1},
                "end_location": {"row": i2 + 1, "column": 1},
                "content": "".join(new_lines[j1:j2]),
            }
        )
    return edits


def unified_diff(path: str, before: bytes, after: bytes) -> str:
    a = before.decode("utf-8", "replace").splitlines(keepends=True)
    b = after.decode("utf-8", "replace").splitlines(keepends=True)
    lines = list(difflib.unified_diff(a, b, fromfile=path, tofile=path))
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and a rename, keeping the file's permissions."""
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".asynclint")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
