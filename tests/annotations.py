"""The fixture annotation syntax: ``# ASL200`` (or ``# ASL200:5`` to pin the 1-based column) written as
a trailing comment on the line a finding belongs to. Shared by fixture tests and rule-example tests."""
from __future__ import annotations

import io
import re
import sys
import tokenize
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

_CODE = re.compile(r"^(ASL\d{3})(?::(\d+))?$")
_CONFIG = "# asynclint-config:"


def _comments(source: str) -> list[tuple[int, str]]:
    try:
        return [
            (tok.start[0], tok.string)
            for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type == tokenize.COMMENT
        ]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        # files with syntax errors: fall back to the text after a '#'
        return [(i, line[line.index("#"):]) for i, line in enumerate(source.splitlines(), 1) if "#" in line]


def expected(source: str) -> set[tuple[int, str, int | None]]:
    """(line, code, column or None) for every annotation in ``source``."""
    out: set[tuple[int, str, int | None]] = set()
    for line, comment in _comments(source):
        for segment in comment.split("#")[1:]:
            tokens = [t for t in re.split(r"[,\s]+", segment.strip()) if t]
            if not tokens or _CODE.match(tokens[0]) is None:
                continue
            for token in tokens:
                match = _CODE.match(token)
                if match is None:
                    break
                out.add((line, match.group(1), int(match.group(2)) if match.group(2) else None))
    return out


def config_overrides(source: str) -> dict[str, Any]:
    """``# asynclint-config: fix-style = "run-in-executor"`` lines: TOML for the fixture's Config."""
    text = "\n".join(
        line.strip()[len(_CONFIG):].strip() for line in source.splitlines() if line.strip().startswith(_CONFIG)
    )
    return tomllib.loads(text) if text else {}


def compare(source: str, findings: list[Any]) -> tuple[set[Any], set[Any]]:
    """(missing, unexpected): both empty when the findings are exactly the annotated ones."""
    want = expected(source)
    got_lines = {(f.line, f.code) for f in findings}
    got_cols = {(f.line, f.code, f.col) for f in findings}
    missing = {
        w for w in want if ((w[0], w[1]) not in got_lines if w[2] is None else (w[0], w[1], w[2]) not in got_cols)
    }
    want_lines = {(w[0], w[1]) for w in want}
    unexpected = {(f.line, f.code, f.message) for f in findings if (f.line, f.code) not in want_lines}
    return missing, unexpected
