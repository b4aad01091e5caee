"""Everything decided before libcst: the byte prefilter, CPython's parse and depth check, the gate.

A file that no rule's markers match, that the ``ast`` gate (asynclint.gate) turns away, or that
CPython cannot even decode or parse is finished here, without importing libcst or the rule classes
(asynclint.specs carries what the rules' prefilters need)."""
from __future__ import annotations

import ast
import codecs
import io
import os
import tokenize
import warnings
from dataclasses import dataclass
from typing import Any, Sequence, TypeVar

from asynclint import gate, registry
from asynclint.config import Config
from asynclint.model import Finding, Result
from asynclint.noqa import is_skipped_file
from asynclint.specs import SPECS

#: the deepest syntax tree (``ast`` nodes) parsed. libcst's parser needs memory quadratic in the
#: depth (12,000 unary minus signs: 7.9 GB) and overflows the C stack (a crash, no message) long
#: before CPython's own limits; at 1,000 levels the worst shapes take about 0.5 s and 250 MB
MAX_DEPTH = 1000
#: for a file CPython rejects (no tree to measure): the most operators and opening brackets one
#: logical line may hold before libcst is not even tried (each can add one level of nesting)
MAX_CHAIN_TOKENS = 3 * MAX_DEPTH
#: the ``ast`` gate (:mod:`asynclint.gate`) decides which rules libcst runs; ``ASYNCLINT_GATE=off``
#: turns it off (to check that it changes no finding: ``benchmarks/realworld.py gatecheck``)
USE_GATE = os.environ.get("ASYNCLINT_GATE", "on").lower() not in ("off", "0", "no", "false")


#: a rule class (asynclint.rule.Rule) or its spec (asynclint.specs.Spec): both have ``code``,
#: ``gate`` and ``could_match(source, config)``
R = TypeVar("R")


def matching_rules(source: bytes, rules: Sequence[R], config: Config) -> list[R]:
    """The rules whose byte markers occur in ``source``: only they are run (none: no parse)."""
    return [rule for rule in rules if rule.could_match(source, config)]  # type: ignore[attr-defined]


def rules_to_run(source: bytes, path: str, config: Config, rules: Sequence[R]) -> list[R]:
    """The rules that must run on this file, decided before parsing (none: the file is not parsed):
    ``skip-file``, ``per-file-ignores`` and the rules' byte markers."""
    if is_skipped_file(source):
        return []
    ignored = registry.per_file_ignored(path, config)
    if ignored:
        rules = [r for r in rules if not any(r.code.startswith(c.upper()) for c in ignored)]  # type: ignore[attr-defined]
    return matching_rules(source, rules, config)


def could_match(source: bytes, rules: Sequence[Any], config: Config | None = None) -> bool:
    return bool(matching_rules(source, rules, config or Config()))


def _syntax_error_enabled(path: str, config: Config) -> bool:
    return registry.is_enabled(registry.SYNTAX_ERROR_CODE, config) and not any(
        registry.SYNTAX_ERROR_CODE.startswith(c.upper()) for c in registry.per_file_ignored(path, config)
    )


def _native_finding(path: str, exc: SyntaxError, source: bytes | None = None) -> Finding:
    line, col = exc.lineno or 1, max(exc.offset or 1, 1)
    if source is not None:
        col = _character_column(source, exc, line, col)
    return Finding(path, line, col, line, col, registry.SYNTAX_ERROR_CODE, "syntax-error", f"SyntaxError: {exc.msg}")


def _character_column(source: bytes, exc: SyntaxError, line: int, col: int) -> int:
    """The error's column in characters. CPython compiling bytes gives some parser errors' offsets
    in UTF-8 bytes (``x = '𝄞' +`` at column 13 of a 9-character line) and tokenizer errors' in
    characters; compiling the decoded text gives characters for both. Only for a line that is not
    ASCII, so only a broken file with such a line pays for a second parse."""
    lines = source.splitlines()
    if not 0 < line <= len(lines) or lines[line - 1].isascii():
        return col
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        text = source.decode(encoding)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<asynclint>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as again:
        if again.lineno == exc.lineno and again.msg == exc.msg and again.offset:
            return max(again.offset, 1)
    except Exception:  # noqa: BLE001 - undecodable, too deep: keep CPython's first answer
        pass
    return col


def decode_error_finding(path: str, exc: Exception) -> Finding:
    """ASL001 for bytes that cannot be decoded as Python source."""
    if isinstance(exc, UnicodeDecodeError):
        message = f"cannot decode file as {exc.encoding}: {exc.reason} at byte {exc.start}"
    else:
        message = f"cannot decode file: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    return Finding(path, 1, 1, 1, 1, registry.SYNTAX_ERROR_CODE, "syntax-error", message)


def undecodable(path: str, source: bytes) -> Finding | None:
    """ASL001 for bytes Python cannot read as source (a wrong encoding, UTF-16, a binary file);
    None for a file that decodes. Cheap: the prefilter skips most files without parsing them."""
    if source.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        name = "UTF-32" if source.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) else "UTF-16"
        message = f"cannot decode file: {name} (byte order mark) is not a Python source encoding; save it as UTF-8"
        return Finding(path, 1, 1, 1, 1, registry.SYNTAX_ERROR_CODE, "syntax-error", message)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        source.decode(encoding)
    except SyntaxError as exc:  # the first two lines are not UTF-8 and no cookie says otherwise
        try:
            source.decode("utf-8")
        except UnicodeDecodeError as decode_error:  # where, and why
            return decode_error_finding(path, decode_error)
        return decode_error_finding(path, exc)
    except (LookupError, UnicodeDecodeError) as exc:
        return decode_error_finding(path, exc)
    null = source.find(b"\0")
    if null >= 0:
        line = source.count(b"\n", 0, null) + 1
        col = null - (source.rfind(b"\n", 0, null) + 1) + 1
        return Finding(
            path, line, col, line, col, registry.SYNTAX_ERROR_CODE, "syntax-error",
            "SyntaxError: source code cannot contain null bytes",
        )
    return None


def syntax_error(source: bytes, path: str) -> SyntaxError | None:
    """CPython's syntax error in ``source`` (a file no rule needs parsed), or None. The same parse
    as the gate's (``ast`` only, not the compiler): a file gets the same ASL001 whether a rule
    admits it or not."""
    try:
        with warnings.catch_warnings():
            # ``"\d"`` warns: under ``-W error`` the warning would become a SyntaxError
            warnings.simplefilter("ignore")
            compile(source, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        return exc
    except Exception:  # RecursionError, MemoryError, ValueError (null bytes): not a syntax error
        return None
    return None


@dataclass
class _TooDeep:
    message: str


def _native_parse(source: bytes, path: str) -> ast.Module | SyntaxError | _TooDeep | None:
    """CPython's own parse of the file: its tree (no deeper than MAX_DEPTH), its syntax error,
    _TooDeep when the file is nested too deeply to check, None when it fails otherwise (null bytes)."""
    try:
        tree = compile(source, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        return exc
    except (RecursionError, MemoryError):  # CPython's parser gives up: libcst would crash
        return _TooDeep(f"nested too deeply to check (more than {MAX_DEPTH} levels)")
    except Exception:
        return None
    assert isinstance(tree, ast.Module)
    return _too_deep(tree) or tree


def _too_deep(tree: ast.Module) -> _TooDeep | None:
    """_TooDeep when ``tree`` nests deeper than MAX_DEPTH, else None."""
    # iteratively: the point is not to recurse
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            line = getattr(node, "lineno", None)
            where = f" at line {line}" if line else ""
            return _TooDeep(f"nested too deeply to check (more than {MAX_DEPTH} levels{where})")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return None


#: operators that never nest: a long flat literal (a table of data) is full of them
_FLAT_OPS = frozenset({",", ";", ":", "=", ")", "]", "}", "->", "."})
_NESTING_WORDS = frozenset({"not", "lambda", "if", "else", "await", "and", "or", "yield", "in", "is"})


def longest_chain(source: bytes) -> int:
    """An upper bound on how deeply one logical line nests: its operators, opening brackets and
    nesting keywords. Only used for files CPython rejects (there is no tree to measure)."""
    best = count = 0
    try:
        for tok in tokenize.tokenize(io.BytesIO(source).readline):
            if tok.type == tokenize.NEWLINE:
                count = 0
            elif (tok.type == tokenize.OP and tok.string not in _FLAT_OPS) or (
                tok.type == tokenize.NAME and tok.string in _NESTING_WORDS
            ):
                count += 1
                best = max(best, count)
    except Exception:  # tokenize stops at the first error; libcst's tokenizer fails there too
        pass
    return best




def prepare(
    source: bytes, path: str, config: Config, rules: Sequence[R], tree: ast.Module | None = None
) -> tuple[Result, list[R] | None, ast.Module | SyntaxError | None]:
    """(the result so far, the rules libcst must run or None when the file is finished here,
    CPython's tree or syntax error). ``rules`` may be rule classes or their specs."""
    result = Result(path=path, source=source)
    rules = rules_to_run(source, path, config, rules)
    if not rules:
        # no rule can fire, but a file Python cannot decode or parse must not pass as clean
        if not is_skipped_file(source) and _syntax_error_enabled(path, config):
            problem = undecodable(path, source)
            if problem is None and tree is None:  # a tree given (flake8): it parsed
                error = syntax_error(source, path)
                problem = None if error is None else _native_finding(path, error, source)
            if problem is not None:
                result.findings.append(problem)
        return result, None, None
    native = _native_parse(source, path) if tree is None else (_too_deep(tree) or tree)
    if isinstance(native, _TooDeep):
        result.error = native.message
        return result, None, None
    if isinstance(native, SyntaxError) and (
        # wrong in every Python version, and libcst's parser would need gigabytes for it
        native.msg == "too many nested parentheses"
        # CPython stopped before the deep part: libcst must not see it
        or longest_chain(source) > MAX_CHAIN_TOKENS
    ):
        if _syntax_error_enabled(path, config):
            result.findings.append(_native_finding(path, native, source))
        return result, None, None
    if USE_GATE and isinstance(native, ast.Module):
        rules = gate.admitted(rules, native, config, path)
        if not rules:
            result.gated = True
            return result, None, native
    return result, rules, native


def lint_specs(
    source: bytes, path: str, config: Config, specs: Sequence[Any], noqa: bool = True, tree: ast.Module | None = None
) -> Result:
    """:func:`asynclint.engine.lint_bytes` for rules given by their specs: libcst and the rule
    classes are imported only when the prefilter and the gate admit the file."""
    result, admitted, native = prepare(source, path, config, specs, tree)
    if admitted is not None:
        from asynclint.engine import finish

        by_code = registry.rules_by_code()
        finish(result, source, native, path, config, [by_code[spec.code] for spec in admitted], noqa)
    return result


def specs_of(codes: Sequence[str]) -> list[Any]:
    """The specs of ``codes`` (what :func:`prepare` needs, without the rule classes)."""
    return [SPECS[code] for code in codes]
