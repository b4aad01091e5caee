"""Suppression comments: ``# noqa`` / ``# noqa: ASL200,ASL210`` and ``# asynclint: skip-file``."""
from __future__ import annotations

import re

_NOQA = re.compile(
    rb"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]*(?:[,\s]+[A-Z]+[0-9]*)*))?",
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
        self._lines = source.splitlines()
        self._cache: dict[int, frozenset[str] | None | bool] = {}

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
        codes = self._codes(line)
        if codes is False:
            return False
        if codes is None:
            return True
        assert isinstance(codes, frozenset)
        return any(code.startswith(c) for c in codes)
