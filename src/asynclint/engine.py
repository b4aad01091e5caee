"""The engine: prefilter -> parse once -> one batched traversal of all enabled rules -> findings."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from asynclint import registry
from asynclint.config import Config
from asynclint.noqa import NoqaIndex, is_skipped_file
from asynclint.rule import Finding, Rule
from asynclint.semantics import Context

#: frames allowed while walking one tree (restored afterwards)
RECURSION_LIMIT = 20000


@dataclass
class Result:
    """What linting one file produced. ``module`` is the parsed tree the findings' fixes refer to."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    #: an internal error (a bug in asynclint), reported without a traceback
    error: str | None = None
    module: cst.Module | None = None
    source: bytes = b""
    parsed: bool = False


def syntax_error_finding(path: str, exc: Exception, source: bytes = b"") -> Finding:
    """ASL001 for a file that cannot be decoded or parsed, with the parser's message and position.

    Where CPython's own parser rejects the file too, its message and position are used: they are
    the ones users know. libcst's are used for syntax this Python does not know."""
    line, col = 1, 1
    if isinstance(exc, cst.ParserSyntaxError):
        try:
            compile(source, path, "exec", dont_inherit=True, flags=0x400)  # ast.PyCF_ONLY_AST
        except SyntaxError as native:
            if native.lineno:
                line, col = native.lineno, max(native.offset or 1, 1)
                return Finding(path, line, col, line, col, registry.SYNTAX_ERROR_CODE, "syntax-error", f"SyntaxError: {native.msg}")
        except (ValueError, UnicodeError):
            pass
        line, col = exc.editor_line, exc.editor_column
        message = exc.message.strip().splitlines()[0] if exc.message.strip() else "invalid syntax"
        message = f"SyntaxError: {message}"
    elif isinstance(exc, UnicodeDecodeError):
        message = f"cannot decode file as {exc.encoding}: {exc.reason} at byte {exc.start}"
    elif isinstance(exc, (LookupError, SyntaxError)):
        message = f"cannot decode file: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    else:
        message = f"cannot parse file: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return Finding(path, line, col, line, col, registry.SYNTAX_ERROR_CODE, "syntax-error", message)


def matching_rules(source: bytes, rules: Sequence[type[Rule]], config: Config) -> list[type[Rule]]:
    """The rules whose byte markers occur in ``source``: only they are run (none: no parse)."""
    return [rule for rule in rules if rule.could_match(source, config)]


def rules_to_run(source: bytes, path: str, config: Config, rules: Sequence[type[Rule]]) -> list[type[Rule]]:
    """The rules that must run on this file, decided before parsing (none: the file is not parsed):
    ``skip-file``, ``per-file-ignores`` and the rules' byte markers."""
    if is_skipped_file(source):
        return []
    ignored = registry.per_file_ignored(path, config)
    if ignored:
        rules = [r for r in rules if not any(r.code.startswith(c.upper()) for c in ignored)]
    return matching_rules(source, rules, config)


def could_match(source: bytes, rules: Sequence[type[Rule]], config: Config | None = None) -> bool:
    return bool(matching_rules(source, rules, config or Config()))


def lint_bytes(
    source: bytes, path: str, config: Config, rules: Sequence[type[Rule]] | None = None, noqa: bool = True
) -> Result:
    """Lint one file's bytes. Never raises for bad input: parse errors become ASL001 findings.

    ``noqa=False`` keeps findings that ``# noqa`` comments would suppress (the flake8 plugin: flake8
    applies its own ``# noqa`` rules)."""
    if rules is None:
        rules = registry.enabled_rules(config)
    ignored_here = registry.per_file_ignored(path, config)
    result = Result(path=path, source=source)
    rules = rules_to_run(source, path, config, rules)
    if not rules:
        return result
    try:
        module = cst.parse_module(source)
    except Exception as exc:  # libcst raises ParserSyntaxError, UnicodeDecodeError, LookupError, ...
        if registry.is_enabled(registry.SYNTAX_ERROR_CODE, config) and not any(
            registry.SYNTAX_ERROR_CODE.startswith(c.upper()) for c in ignored_here
        ):
            result.findings.append(syntax_error_finding(path, exc, source))
        return result
    result.parsed = True
    # libcst walks trees recursively: long implicit string concatenations and deep expressions
    # (pydoc_data/topics.py in the standard library) need more than Python's default 1000 frames
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
    try:
        result.module, result.findings = _traverse(module, path, config, rules, source, noqa)
    except RecursionError:
        result.error = "file is nested too deeply for the parser's tree walk"
    except Exception as exc:  # a bug in a rule must not take the other files down
        result.error = f"internal error: {type(exc).__name__}: {exc}"
    finally:
        sys.setrecursionlimit(limit)
    return result


def _traverse(
    module: cst.Module, path: str, config: Config, rules: Sequence[type[Rule]], source: bytes, noqa: bool = True
) -> tuple[cst.Module, list[Finding]]:
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    ctx = Context(wrapper, path, config, source)
    visitors = [rule(ctx) for rule in rules]
    cst.visit_batched(wrapper.module, visitors, ctx.before_visit, ctx.after_leave)
    if not ctx.findings:
        return wrapper.module, []
    positions = wrapper.resolve(PositionProvider)
    index = NoqaIndex(source) if noqa else None
    findings: list[Finding] = []
    for pending in ctx.findings:
        span = positions[pending.node]
        code = pending.rule.code
        if index is not None and index.suppressed(span.start.line, code):
            continue
        findings.append(
            Finding(
                path=path,
                line=span.start.line,
                col=span.start.column + 1,
                end_line=span.end.line,
                end_col=span.end.column + 1,
                code=code,
                slug=pending.rule.slug,
                message=pending.message,
                fix=pending.fix,
                node=pending.node,
            )
        )
    _drop_conflicting_fixes(findings, ctx)
    findings.sort(key=lambda f: f.sort_key)
    return wrapper.module, findings


def _drop_conflicting_fixes(findings: list[Finding], ctx: Context) -> None:
    """A fix that removes ``async`` (ASL100) is never offered where another fix adds an ``await``
    to the same function: the function must stay a coroutine for that await."""
    gaining_await: set[int] = set()
    for finding in findings:
        if finding.fix is not None and finding.fix.adds_await and finding.node is not None:
            node: cst.CSTNode | None = finding.node
            while node is not None and not isinstance(node, (cst.FunctionDef, cst.Lambda)):
                node = ctx.parent(node)
            if node is not None:
                gaining_await.add(id(node))
    if not gaining_await:
        return
    for finding in findings:
        fix = finding.fix
        if fix is not None and not fix.adds_await:
            if any(isinstance(t, cst.FunctionDef) and id(t) in gaining_await for t, _ in fix.replacements):
                finding.fix = None
