"""Suppression comments: ``# noqa`` / ``# noqa: ASL200,ASL210`` and ``# asynclint: skip-file``."""
from __future__ import annotations

import io
import re
import tokenize

#: codes are letters then digits (``ASL210``, ``ASL2``), as flake8 and ruff read them: a reason
#: after the codes (``# noqa: ASL210 legacy client``) is not read as more codes ("legacy" would
#: otherwise be a prefix of nothing, and ``a`` a prefix of every ASL code)
_NOQA = re.compile(
    rb"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE,
)
_SKIP_FILE = re.compile(rb"^[ \t]*#[ \t]*asynclint:[ \t]*skip-file\b", re.MULTILINE | re.IGNORECASE)
#: how far from the top a skip-file comment counts
_SKIP_FILE_WINDOW = 4096


def is_skipped_file(source: bytes) -> bool:
    return _SKIP_FILE.search(source, 0, _SKIP_FILE_WINDOW) is not None


class NoqaIndex:
    """Answers "is code X suppressed on line N" by looking only at the lines findings are on."""

    def __init__(self, source: bytes) -> None:
        self._source = source
        self._lines = source.splitlines()
        self._cache: dict[int, frozenset[str] | None | bool] = {}
        self._moved: dict[int, int] | None = None

    def _codes(self, line: int) -> frozenset[str] | None | bool:
        """False: no noqa; None: bare noqa (all codes); a set: those codes (prefixes)."""
        if line not in self._cache:
            result: frozenset[str] | None | bool = False
            if 0 < line <= len(self._lines):
                text = self._lines[line - 1]
                if b"#" in text:
                    match = _NOQA.search(text)
                    if match is not None:
                        codes = match.group("codes")
                        result = (
                            None
                            if codes is None
                            else frozenset(c.upper() for c in re.split(r"[,\s]+", codes.decode("ascii")) if c)
                        )
            self._cache[line] = result
        return self._cache[line]

    def suppressed(self, line: int, code: str) -> bool:
        if self._suppressed_on(line, code):
            return True
        # a line inside a multi-line string or joined by a backslash takes its comment from the
        # line that ends it (where --add-noqa puts it); tokenized only when some comment could apply
        if self._moved is None:
            self._moved = noqa_lines(self._source) if _MENTIONS_NOQA.search(self._source) else {}
        target = self._moved.get(line)
        return target is not None and self._suppressed_on(target, code)

    def _suppressed_on(self, line: int, code: str) -> bool:
        codes = self._codes(line)
        if codes is False:
            return False
        if codes is None:
            return True
        assert isinstance(codes, frozenset)
        return any(code.startswith(c) for c in codes)


_MENTIONS_NOQA = re.compile(rb"noqa", re.IGNORECASE)
_LONE_CR = re.compile(rb"\r(?!\n)")
_NOT_CODE = frozenset({tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING})


def noqa_lines(source: bytes) -> dict[int, int]:
    """The lines whose ``# noqa`` comment lives on a later line, mapped to that line (ruff's rule):
    every line of a multi-line string but its last (a ``#`` there is part of the string), and each
    line ended by a backslash, to the line that ends the continuation. Empty when the source does
    not tokenize."""
    # tokenize reads lines ending in \n only; a lone \r ends a line for the index and for libcst
    text = _LONE_CR.sub(b"\n", source)
    spans: list[tuple[int, int]] = []
    opened: list[int] = []  # rows where the f-strings (3.12+: tokenized in parts) being read begin
    previous: tokenize.TokenInfo | None = None
    try:
        for token in tokenize.tokenize(io.BytesIO(text).readline):
            name = tokenize.tok_name.get(token.type, "")
            if token.type == tokenize.STRING and token.end[0] > token.start[0]:
                spans.append((token.start[0], token.end[0]))
            elif name.endswith("STRING_START"):
                opened.append(token.start[0])
            elif name.endswith("STRING_END") and opened:
                start = opened.pop()
                if token.end[0] > start:
                    spans.append((start, token.end[0]))
            if (
                previous is not None
                and previous.type not in _NOT_CODE
                and token.type not in (tokenize.NEWLINE, tokenize.NL)
                and token.start[0] > previous.end[0]
            ):
                # no NEWLINE or NL token between two tokens on different lines: a backslash joins them
                spans.append((previous.end[0], token.start[0]))
            previous = token
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, LookupError):
        return {}
    moved: dict[int, int] = {}
    for start, end in spans:
        for line in range(start, end):
            moved[line] = max(moved.get(line, line), end)
    for line in sorted(moved, reverse=True):  # a string ending on a continued line, and so on
        target = moved[line]
        while target in moved:
            target = moved[target]
        moved[line] = target
    return moved
