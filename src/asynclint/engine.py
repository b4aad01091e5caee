"""The engine: prefilter -> parse once -> one batched traversal of all enabled rules -> findings."""
from __future__ import annotations

import ast
import bisect
import contextlib
import functools
import io
import sys
import tokenize
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence, Union

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from asynclint import registry, traversal
from asynclint.config import Config
from asynclint.model import Result
from asynclint.noqa import NoqaIndex
from asynclint.prepare import (
    _native_finding,
    _native_parse,
    _syntax_error_enabled,
    _TooDeep,
    could_match,
    decode_error_finding,
    matching_rules,
    prepare,
    rules_to_run,
)
from asynclint.rule import Finding, Rule
from asynclint.semantics import Context

# the prefilter lives in asynclint.prepare (no libcst); these names stay importable from here
__all__ = ["Result", "could_match", "finish", "lint_bytes", "matching_rules", "parse_source", "rules_to_run"]

#: frames allowed while walking one tree (restored afterwards)
RECURSION_LIMIT = 20000
#: libcst's parser refuses more than 3,000 implicitly concatenated string literals; longer runs are
#: parsed in pieces of this many
STRING_CHUNK = 1000
#: the longest run of implicitly concatenated literals checked (libcst nests them one per level)
MAX_STRING_RUN = 5000


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
                return _native_finding(path, native, source)
        except (ValueError, UnicodeError):
            pass
        line, col = exc.editor_line, exc.editor_column
        message = exc.message.strip().splitlines()[0] if exc.message.strip() else "invalid syntax"
        message = f"SyntaxError: {message}"
    elif isinstance(exc, (UnicodeDecodeError, LookupError, SyntaxError)):
        return decode_error_finding(path, exc)
    else:
        message = f"cannot parse file: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return Finding(path, line, col, line, col, registry.SYNTAX_ERROR_CODE, "syntax-error", message)


def lint_bytes(
    source: bytes,
    path: str,
    config: Config,
    rules: Sequence[type[Rule]] | None = None,
    noqa: bool = True,
    tree: ast.Module | None = None,
) -> Result:
    """Lint one file's bytes. Never raises for bad input: parse errors become ASL001 findings, and
    what cannot be checked at all (nested too deeply) a one-line ``error``.

    ``noqa=False`` keeps findings that ``# noqa`` comments would suppress (the flake8 plugin: flake8
    applies its own ``# noqa`` rules). ``tree``: CPython's tree of ``source`` when the caller has
    one (flake8 parsed the file already); it is not parsed again."""
    if rules is None:
        rules = registry.enabled_rules(config)
    result, admitted, native = prepare(source, path, config, rules, tree)
    if admitted is not None:
        finish(result, source, native, path, config, admitted, noqa)
    return result


@contextlib.contextmanager
def deep_recursion() -> Iterator[None]:
    """libcst walks and rebuilds trees recursively: raise Python's limit to RECURSION_LIMIT
    frames for the block (code nested deeper than MAX_DEPTH is refused before it gets here: asynclint.prepare.MAX_DEPTH)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def parse_source(source: bytes) -> cst.Module:
    """libcst's tree of ``source``, also for the valid Python its parser refuses (``(x): int``,
    more than 3,000 implicitly concatenated literals), parsed under RECURSION_LIMIT. Raises what
    ``cst.parse_module`` raises, and RecursionError for code nested deeper than MAX_DEPTH."""
    native = _native_parse(source, "<source>")
    if isinstance(native, _TooDeep):
        raise RecursionError(native.message)
    with deep_recursion():
        return _parse(source, native)


def finish(
    result: Result,
    source: bytes,
    native: ast.Module | SyntaxError | None,
    path: str,
    config: Config,
    rules: Sequence[type[Rule]],
    noqa: bool = True,
) -> None:
    """libcst's part of :func:`lint_bytes`, for a file :func:`asynclint.prepare.prepare` admitted."""
    # libcst walks trees recursively: long implicit string concatenations and deep expressions
    # (pydoc_data/topics.py in the standard library) need more than Python's default 1000 frames
    with deep_recursion():
        try:
            module = _parse(source, native)
        except _LibcstLimit as exc:
            result.error = str(exc)
            return
        except (RecursionError, MemoryError):
            result.error = "nested too deeply to check"
            return
        except Exception as exc:  # libcst raises ParserSyntaxError, UnicodeDecodeError, LookupError, ...
            if _syntax_error_enabled(path, config):
                result.findings.append(syntax_error_finding(path, exc, source))
            return
        result.parsed = True
        try:
            result.module, result.findings = _traverse(module, path, config, rules, source, noqa)
        except RecursionError:
            result.error = "file is nested too deeply for the parser's tree walk"
        except Exception as exc:  # a bug in a rule must not take the other files down
            # ... or code libcst parses and CPython's compiler rejects (``nonlocal x`` at module level)
            native_error = _compile_error(source, path)
            if native_error is None:
                result.error = f"internal error: {type(exc).__name__}: {exc}"
            elif _syntax_error_enabled(path, config):
                result.findings.append(_native_finding(path, native_error, source))


# --- bad input: undecodable, nested too deeply, valid Python libcst cannot parse -----------------


def _compile_error(source: bytes, path: str) -> SyntaxError | None:
    """CPython's complete compile (the symbol table included): the error it finds, if any."""
    try:
        compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return exc
    except Exception:  # ValueError (null bytes), MemoryError, RecursionError: not a syntax error
        return None
    return None


class _LibcstLimit(Exception):
    """Valid Python (CPython parses it) that libcst cannot parse: one line naming where."""


def _parse(source: bytes, native: ast.Module | SyntaxError | None) -> cst.Module:
    """libcst's parse of ``source``; valid Python that libcst's parser refuses (a parenthesized
    annotated target ``(x): int``, more than 3,000 implicitly concatenated literals) is parsed with
    those parts replaced by placeholders, which are then swapped back for the real nodes."""
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        if not isinstance(native, ast.Module):
            raise
        first = exc
    module = _parse_around_limits(source, native)
    if module is None:
        raise _LibcstLimit(
            f"libcst cannot parse line {first.editor_line}, which is valid Python; file not checked"
        )
    return module


@dataclass
class _Patch:
    """``text[begin:end]`` is parsed as ``replacement``; ``restore`` turns the node of ``kind`` that
    starts at ``where`` (libcst's line and column in the patched text) back into the real one."""

    begin: int
    end: int
    replacement: str
    where: tuple[int, int]
    kind: type[cst.CSTNode]
    restore: Callable[[cst.CSTNode], Union[cst.CSTNode, None]]


def _parse_around_limits(source: bytes, tree: ast.Module) -> cst.Module | None:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        text = source.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return None
    # lines end where CPython's tokenizer ends them (\r\n, \r, \n), not at form feeds
    lines = io.StringIO(text, newline="").readlines()
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    try:
        patches = _annotation_patches(text, lines, starts, tree)
        runs = _string_run_patches(text, starts)
    except _LibcstLimit:
        raise
    except Exception:  # a piece libcst cannot parse either
        return None
    if runs is None:
        return None
    patches += runs
    if not patches:
        return None
    patches.sort(key=lambda p: p.begin)
    pieces, at = [], 0
    for patch in patches:
        if patch.begin < at:
            return None  # overlapping: give up
        pieces += [text[at : patch.begin], patch.replacement]
        at = patch.end
    pieces.append(text[at:])
    patched = "".join(pieces)
    try:
        module = _restore(cst.parse_module(patched.encode(encoding)), patches)
    except Exception:
        return None
    if module is None or module.bytes != source:
        return None
    return module


def _offset(starts: list[int], lines: list[str], lineno: int, col_utf8: int) -> int:
    """A text offset from an ``ast`` position (1-based line, UTF-8 byte column)."""
    line = lines[lineno - 1]
    return starts[lineno - 1] + len(line.encode("utf-8")[:col_utf8].decode("utf-8", "replace"))


def _position(starts: list[int], offset: int) -> tuple[int, int]:
    """(1-based line, 0-based column in characters) of a text offset: libcst's positions."""
    index = bisect.bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index]


def _annotation_patches(text: str, lines: list[str], starts: list[int], tree: ast.Module) -> list[_Patch]:
    """``(x): int = 1``: the parentheses become spaces after the target (libcst issue #1011)."""
    patches: list[_Patch] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.AnnAssign) or node.simple:
            continue
        begin = _offset(starts, lines, node.lineno, node.col_offset)
        target_begin = _offset(starts, lines, node.target.lineno, node.target.col_offset)
        assert node.target.end_lineno is not None and node.target.end_col_offset is not None
        target_end = _offset(starts, lines, node.target.end_lineno, node.target.end_col_offset)
        if text[begin] != "(" or target_begin <= begin:
            continue
        end = target_end
        close = None
        while end < len(text) and text[end] in " \t)":
            if text[end] == ")":
                close = end + 1
            end += 1
        if close is None or end >= len(text) or text[end] != ":" or "\n" in text[begin:close] or "\\" in text[begin:target_begin]:
            continue
        original = text[begin:close]
        inner = text[target_begin:target_end]
        padding = len(original) - len(inner)
        replacement = inner + " " * padding

        def restore(n: cst.CSTNode, original: str = original, padding: int = padding) -> cst.CSTNode | None:
            assert isinstance(n, cst.AnnAssign)
            ws = n.annotation.whitespace_before_indicator
            if not isinstance(ws, cst.SimpleWhitespace) or not ws.value.startswith(" " * padding):
                return None
            target = cst.parse_expression(original)
            return n.with_changes(
                target=target,
                annotation=n.annotation.with_changes(
                    whitespace_before_indicator=cst.SimpleWhitespace(ws.value[padding:])
                ),
            )

        patches.append(_Patch(begin, close, replacement, _position(starts, begin), cst.AnnAssign, restore))
    return patches


_STRING_START = {t for t in (getattr(tokenize, n, None) for n in ("FSTRING_START", "TSTRING_START")) if t is not None}
_STRING_END = {t for t in (getattr(tokenize, n, None) for n in ("FSTRING_END", "TSTRING_END")) if t is not None}


def _string_run_patches(text: str, starts: list[int]) -> list[_Patch] | None:
    """Runs of more than STRING_CHUNK implicitly concatenated literals: each becomes a parenthesized
    ``0`` spanning the same lines; the real chain is parsed in pieces and put back."""
    runs: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    indents: list[str] = []
    run_indent: list[str] = []
    depth = 0
    unit_start = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text, newline="").readline):
            begin = starts[min(tok.start[0], len(starts)) - 1] + tok.start[1]
            end = starts[min(tok.end[0], len(starts)) - 1] + tok.end[1]
            if tok.type == tokenize.INDENT:
                indents.append(tok.string)
            elif tok.type == tokenize.DEDENT:
                indents.pop()
            if tok.type in _STRING_START:
                if depth == 0:
                    unit_start = begin
                depth += 1
                continue
            if depth:
                if tok.type in _STRING_END:
                    depth -= 1
                    if depth == 0:
                        current.append((unit_start, end))
                continue
            if tok.type == tokenize.STRING:
                current.append((begin, end))
                continue
            if tok.type in (tokenize.NL, tokenize.COMMENT):
                continue
            if len(current) > STRING_CHUNK:
                runs.append(current)
                run_indent.append(indents[-1] if indents else "")
            current = []
    except Exception:
        return None
    patches: list[_Patch] = []
    newline = _first_newline(text)
    for run, indent in zip(runs, run_indent):
        if len(run) > MAX_STRING_RUN:
            line = _position(starts, run[0][0])[0]
            raise _LibcstLimit(
                f"more than {MAX_STRING_RUN} implicitly concatenated string literals at line {line}; file not checked"
            )
        begin, end = run[0][0], run[-1][1]
        region = text[begin:end]
        body = "".join(c if c in "\r\n" else " " for c in region[1:-2])
        replacement = "(" + body + "0)"
        chain = _parse_run(text, run, indent, newline)
        # the placeholder's ``0`` is where the run's last two characters were
        where = _position(starts, end - 2)
        patches.append(_Patch(begin, end, replacement, where, cst.Integer, functools.partial(_swap_run, chain)))
    return patches


def _swap_run(chain: cst.BaseExpression, placeholder: cst.CSTNode) -> cst.CSTNode:
    """The run in place of its placeholder, which keeps the parentheses around it (outermost first
    in ``lpar``, innermost first in ``rpar``) except its own."""
    assert isinstance(placeholder, cst.Integer)
    return chain.with_changes(lpar=placeholder.lpar[:-1], rpar=placeholder.rpar[1:])


def _first_newline(text: str) -> str:
    for i, c in enumerate(text):
        if c == "\n":
            return "\n"
        if c == "\r":
            return "\r\n" if text[i + 1 : i + 2] == "\n" else "\r"
    return "\n"


def _parse_run(text: str, run: list[tuple[int, int]], indent: str, newline: str) -> cst.BaseExpression:
    """The ConcatenatedString of a run, parsed in overlapping pieces inside a statement indented as
    the original (so multi-line whitespace keeps its indentation) and joined."""
    roots: list[cst.BaseExpression] = []
    first = 0
    while first < len(run) - 1:
        last = min(first + STRING_CHUNK, len(run) - 1)
        piece = text[run[first][0] : run[last][1]]
        head = f"if 1:{newline}{indent}" if indent else ""
        snippet = cst.parse_module(f"{head}x = ({piece}){newline}")
        stmt: cst.BaseStatement = snippet.body[0]
        if isinstance(stmt, cst.If):
            stmt = stmt.body.body[0]  # type: ignore[assignment]
        assert isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Assign)
        value = stmt.body[0].value
        roots.append(value.with_changes(lpar=[], rpar=[]))
        first = last
    chain = roots[-1]
    for root in reversed(roots[:-1]):
        # the last literal of ``root`` is the first of ``chain``: put ``chain`` in its place
        spine: list[cst.ConcatenatedString] = []
        node: cst.BaseExpression = root
        while isinstance(node, cst.ConcatenatedString):
            spine.append(node)
            node = node.right
        for link in reversed(spine):
            chain = link.with_changes(right=chain)
    return chain


def _restore(module: cst.Module, patches: list[_Patch]) -> cst.Module | None:
    """``module`` (parsed from the patched text) with each placeholder swapped for its real node."""
    wanted = {(p.where, p.kind): p.restore for p in patches}
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    steps: dict[int, Callable[[cst.CSTNode], cst.CSTNode | None]] = {}
    for node, span in wrapper.resolve(PositionProvider).items():
        step = wanted.get(((span.start.line, span.start.column), type(node)))
        if step is not None and step(node) is not None:
            steps[id(node)] = step
    if len(steps) != len(patches):
        return None
    failed = False

    class Swap(cst.CSTTransformer):
        def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:  # type: ignore[override]
            nonlocal failed
            step = steps.get(id(original_node))
            if step is None:
                return updated_node
            new = step(updated_node)
            failed = failed or new is None
            return new if new is not None else updated_node

    result = wrapper.module.visit(Swap())
    assert isinstance(result, cst.Module)
    return None if failed else result


def _traverse(
    module: cst.Module, path: str, config: Config, rules: Sequence[type[Rule]], source: bytes, noqa: bool = True
) -> tuple[cst.Module, list[Finding]]:
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    # every read-only walk of the tree (scopes, parents, the rules) replays one recorded walk
    with traversal.recorded():
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
