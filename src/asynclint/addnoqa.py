"""``--add-noqa``: a ``# noqa: CODE`` comment on every line with a finding, leaving the code as it is."""
from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from typing import Iterable

from asynclint import registry
from asynclint.model import Finding
from asynclint.noqa import _LONE_CR, _NOQA, noqa_lines

_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
#: a code in an existing directive: letters and digits (``ASL200``, ``e402``), or capitals alone
#: (a prefix such as ``ASL``); anything after the codes (``# noqa: E402 kept for X``) is kept as text
_CODE = re.compile(rb"[A-Za-z]+[0-9]+|[A-Z]+")
_SEPARATOR = re.compile(rb"[,\s]+")


@dataclass
class Added:
    """The new text of one file and the number of lines that got a directive or a code."""

    source: bytes
    lines: int


def add_noqa(source: bytes, findings: Iterable[Finding]) -> Added:
    """``source`` with each finding's code in the ``# noqa`` comment of its line: an existing
    directive with codes gets the new ones (codes sorted, as ruff writes them), a line without one
    gets ``  # noqa: CODE`` at its end. The line is the one the finding starts on, or, when that line
    is inside a multi-line string or continued by a backslash, the line that ends it (ruff's
    choice; asynclint's own ``# noqa`` check reads it there too). ASL001 (the file does not parse)
    is left alone."""
    wanted: dict[int, set[str]] = {}
    moved: dict[int, int] | None = None
    for finding in findings:
        if finding.code == registry.SYNTAX_ERROR_CODE or finding.line < 1:
            continue
        if moved is None:
            moved = noqa_lines(source)
        wanted.setdefault(moved.get(finding.line, finding.line), set()).add(finding.code)
    if not wanted:
        return Added(source, 0)
    lines = _LINE.findall(source)
    comments = _comments(source, wanted.keys())
    changed = 0
    for number in sorted(wanted):
        if number > len(lines):
            continue
        line = lines[number - 1]
        body = line.rstrip(b"\r\n")
        ending = line[len(body):]
        new = _with_codes(body, comments.get(number), wanted[number])
        if new != body:
            lines[number - 1] = new + ending
            changed += 1
    return Added(b"".join(lines), changed)


def _comments(source: bytes, wanted: Iterable[int]) -> dict[int, int]:
    """Where the comment of each of the ``wanted`` lines starts (a byte offset in the line)."""
    rows = set(wanted)
    found: dict[int, int] = {}
    text = _LONE_CR.sub(b"\n", source)
    encoding = _encoding(source)
    bom = encoding == "utf-8-sig"  # tokenize drops the byte order mark from the first line
    try:
        for token in tokenize.tokenize(io.BytesIO(text).readline):
            if token.type == tokenize.COMMENT and token.start[0] in rows:
                # columns count characters of the decoded line: measure the prefix in bytes
                offset = len(token.line[: token.start[1]].encode("utf-8" if bom else encoding))
                found[token.start[0]] = offset + (3 if bom and token.start[0] == 1 else 0)
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, LookupError):
        pass
    return found


def _encoding(source: bytes) -> str:
    try:
        return tokenize.detect_encoding(io.BytesIO(source).readline)[0]
    except (SyntaxError, LookupError):
        return "utf-8"


def _with_codes(body: bytes, comment: int | None, codes: set[str]) -> bytes:
    """``body`` (a line without its ending) with ``codes`` added to its ``# noqa`` directive."""
    if comment is not None:
        match = _NOQA.search(body, comment)
        if match is not None and match.group("codes") is not None:
            start, end = match.span("codes")
            existing: list[str] = []
            position = start
            for part in _SEPARATOR.split(body[start:end]):
                if not _CODE.fullmatch(part):
                    break
                existing.append(part.decode("ascii").upper())
                position = body.index(part, position) + len(part)
            merged = sorted(set(existing) | codes)
            if merged == existing:
                return body
            directive = b"# noqa: " + ", ".join(merged).encode("ascii")
            if not existing:  # ``# noqa: some reason``: the codes go first, the words stay
                return body[: match.start()] + directive + b" " + body[start:]
            return body[: match.start()] + directive + body[position:]
        elif match is not None:
            return body  # a bare ``# noqa`` covers every code already
    return body.rstrip(b" \t") + b"  # noqa: " + ", ".join(sorted(codes)).encode("ascii")
