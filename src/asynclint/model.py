"""The values a run produces: findings, fixes, per-file results and outcomes.

Kept free of libcst (its types appear in annotations only), so that a run the result cache answers
entirely can load its pickled outcomes without importing the parser."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import libcst as cst


class Safety(str, enum.Enum):
    """Safe fixes keep what the code was written to do; unsafe ones may change behaviour."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class ImportSpec:
    """An import a fix needs: ``import module`` (name None) or ``from module import name``."""

    module: str
    name: str | None = None


@dataclass
class Fix:
    """Replace original nodes of the parsed module; optionally add imports and module-level statements.

    ``replacements`` maps original nodes (by identity) to their new node. ``prelude`` holds
    module-level statements (source text) inserted after the imports, once each.
    ``adds_await`` marks fixes that put an ``await`` into their function (ASL100 defers to them).
    """

    title: str
    safety: Safety
    replacements: list[tuple[cst.CSTNode, cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[Any]]]
    imports: tuple[ImportSpec, ...] = ()
    prelude: tuple[str, ...] = ()
    adds_await: bool = False


@dataclass
class Finding:
    """One reported problem. Lines are 1-based, columns 1-based (the flake8/ruff display form)."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    code: str
    slug: str
    message: str
    fix: Fix | None = None
    node: cst.CSTNode | None = field(default=None, repr=False, compare=False)

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.col, self.code)


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
    #: the ``ast`` gate admitted no rule: CPython parsed the file, libcst never saw it
    gated: bool = False
    #: self-deadlocks in the file (a lock taken again under a caller that holds it), counted by
    #: the fix engine when it needs to know (None: not counted)
    reentries: int | None = None


@dataclass(frozen=True)
class TextEdit:
    """Replace the text from (line, col) up to, not including, (end_line, end_col) with ``content``.
    Lines and columns are 1-based; columns count characters (code points); lines end at
    ``\n``, ``\r\n`` or ``\r`` as Python's own tokenizer sees them."""

    line: int
    col: int
    end_line: int
    end_col: int
    content: str


@dataclass
class FileOutcome:
    """What the run loop needs to know about one file, in a form that can cross process boundaries
    when ``result`` was made portable (see ``portable_result``)."""

    path: str
    result: Result | None = None
    #: the file could not be read (the message of a FileError)
    read_error: str | None = None
    #: --fix/--diff: the fixed text differs from the file's
    changed: bool = False
    #: fixes applied (counted only once the file was written)
    fixed: int = 0
    #: --fix/--diff: one line starting with the path
    fix_error: str | None = None
    #: --diff: the unified diff of the file
    diff: str | None = None
    #: --fix: writing the fixed file failed; one line starting with the path
    write_error: str | None = None
    #: the other files the findings depend on, with their stat signatures (asynclint.deps)
    deps: tuple = ()


@dataclass
class PrecomputedFix(Fix):
    """A fix whose nodes stayed in the worker process that parsed the file: what output needs of it
    (safety, title and, for json/sarif, the text edits ``output.text_edits`` computed there)."""

    edits: tuple[TextEdit, ...] | None = None


