"""Rendering findings: text (default), concise, json, github (workflow commands) and sarif; the
text formats on a terminal are in asynclint.terminal."""
from __future__ import annotations

import bisect
import difflib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Callable

from asynclint.model import Finding, Result, Safety, TextEdit

if TYPE_CHECKING:
    from asynclint.terminal import Display

FORMATS = ("text", "concise", "json", "github", "sarif")


@dataclass
class Report:
    """Everything a front end shows after a run."""

    results: list[Result] = field(default_factory=list)
    fixed: int = 0
    unsafe_hidden: bool = True  # --unsafe-fixes not given: unsafe fixes are only counted
    #: files that could not be read at all: (path, message); they have no Result
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    #: files reported as errors (unreadable, nested too deeply, a failed fix): not "All checks passed!"
    errors: int = 0
    #: --fix: files whose fixed text could not be written (read-only, a symlink out of the tree)
    unwritten: int = 0

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.results for f in r.findings]


def printable(text: str) -> str:
    """``text`` that any output stream can take: a file name's bytes that are not valid in the file
    system's encoding (which Python keeps as lone surrogates) become backslash escapes, so
    ``b"caf\\xe9.py"`` prints as ``caf\\xe9.py``."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that is no escaped byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def _marker(finding: Finding, unsafe_fixes: bool) -> str:
    fix = finding.fix
    if fix is None:
        return ""
    if fix.safety is Safety.SAFE or unsafe_fixes:
        return "[*] "
    return ""


def render_text(report: Report, concise: bool = False, statistics: bool = False) -> str:
    unsafe_fixes = not report.unsafe_hidden
    lines = [
        f"{f.path}:{f.line}:{f.col}: {f.code} {_marker(f, unsafe_fixes)}{f.message}" for f in report.findings
    ]
    if statistics:
        lines = render_statistics(report)
    if concise:
        return printable("\n".join(lines) + ("\n" if lines else ""))
    lines.append(summary_line(report))
    return printable("\n".join(lines) + "\n")


@dataclass(frozen=True)
class RuleCount:
    """One rule's line in ``--statistics``: its findings, and how many of them have a fix that
    ``--fix`` applies with the flags given (``applicable``) or that needs ``--unsafe-fixes``
    (``hidden``)."""

    code: str
    name: str
    count: int
    applicable: int
    hidden: int

    @property
    def fixable(self) -> bool:
        """Some finding is fixed by ``--fix`` with the flags given (ruff counts the same way)."""
        return self.applicable > 0


def statistics_rows(report: Report) -> list[RuleCount]:
    """Per rule, most frequent first (then by code)."""
    unsafe_fixes = not report.unsafe_hidden
    counts = Counter((f.code, f.slug) for f in report.findings)
    applicable = Counter(f.code for f in report.findings if _marker(f, unsafe_fixes))
    hidden = Counter(f.code for f in report.findings if f.fix is not None and not _marker(f, unsafe_fixes))
    return [
        RuleCount(code, slug, n, applicable[code], hidden[code])
        for (code, slug), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def render_statistics(report: Report) -> list[str]:
    """``count<TAB>code<TAB>[*] slug``; ``[*]`` only when ``--fix`` (with ``--unsafe-fixes`` when
    given) would fix some of the rule's findings."""
    rows = statistics_rows(report)
    width = max((len(str(row.count)) for row in rows), default=1)
    return [f"{row.count:>{width}}\t{row.code}\t{'[*] ' if row.fixable else ''}{row.name}" for row in rows]


def render_statistics_json(report: Report) -> str:
    """``--statistics --output-format json``: ``[{code, name, count, fixable}]``, as ruff prints."""
    rows = [{"code": r.code, "name": r.name, "count": r.count, "fixable": r.fixable} for r in statistics_rows(report)]
    return json.dumps(rows, indent=2) + "\n"


def summary_line(report: Report) -> str:
    findings = report.findings
    safe = sum(1 for f in findings if f.fix is not None and f.fix.safety is Safety.SAFE)
    unsafe = sum(1 for f in findings if f.fix is not None and f.fix.safety is Safety.UNSAFE)
    parts: list[str] = []
    if report.fixed:
        parts.append(f"Fixed {report.fixed} error{'s' if report.fixed != 1 else ''}.")
    unchecked = ""
    if report.errors:
        unchecked = f" {report.errors} file{'s' if report.errors != 1 else ''} could not be checked."
    if report.unwritten:
        unchecked += f" {report.unwritten} file{'s' if report.unwritten != 1 else ''} could not be written."
    if not findings:
        if report.fixed:
            parts.append("Found 0 remaining errors.")
        else:
            parts.append("No errors in the files checked." if report.errors else "All checks passed!")
        return " ".join(parts) + unchecked
    n = len(findings)
    text = f"Found {n} error{'s' if n != 1 else ''}"
    if report.fixed:
        text = f"Found {n} remaining error{'s' if n != 1 else ''}"
    notes: list[str] = []
    if report.unsafe_hidden:
        if safe:
            notes.append(f"{safe} fixable with --fix")
        if unsafe:
            notes.append(f"{unsafe} more with --fix --unsafe-fixes")
    elif safe + unsafe:
        notes.append(f"{safe + unsafe} fixable with --fix --unsafe-fixes")
    if notes:
        text += f" ({'; '.join(notes)})"
    parts.append(text + ".")
    return " ".join(parts) + unchecked


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def source_lines(text: str) -> list[str]:
    """``text`` split into lines that keep their line ending (unlike ``str.splitlines`` this does not
    split at form feeds and other characters Python source treats as ordinary)."""
    return _LINE.findall(text)


def _position(starts: list[int], offset: int) -> tuple[int, int]:
    index = bisect.bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index] + 1


def diff_offsets(before: str, after: str) -> list[tuple[int, int, str]]:
    """The smallest line-wise edits (start offset, end offset, new text) that turn ``before`` into
    ``after``: whole changed lines, trimmed of what the old and the new text share."""
    old, new = source_lines(before), source_lines(after)
    starts = [0]
    for text in old:
        starts.append(starts[-1] + len(text))  # the last entry is the end of the text
    new_starts = [0]
    for text in new:
        new_starts.append(new_starts[-1] + len(text))
    edits: list[tuple[int, int, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        start, end = starts[i1], starts[i2]
        deleted, inserted = before[start:end], after[new_starts[j1] : new_starts[j2]]
        # trim what the old and the new text share, so an edit shows only what changes
        prefix = len(os.path.commonprefix([deleted, inserted]))
        deleted, inserted, start = deleted[prefix:], inserted[prefix:], start + prefix
        suffix = len(os.path.commonprefix([deleted[::-1], inserted[::-1]]))
        if suffix:
            deleted, inserted = deleted[:-suffix], inserted[:-suffix]
        edits.append((start, start + len(deleted), inserted))
    return edits


def text_edits(result: Result | None, finding: Finding) -> list[TextEdit]:
    """The smallest text edits that turn the linted text into what ``finding``'s fix alone produces."""
    if finding.fix is None:
        return []
    precomputed = getattr(finding.fix, "edits", None)
    if precomputed is not None:  # computed by the worker process that parsed the file (--jobs)
        return list(precomputed)
    if result is None or result.module is None:
        return []
    before = result.module.code
    try:
        from asynclint.fixes import (
            apply_fixes,  # libcst: only when the edits are not precomputed
        )

        after = apply_fixes(result.module, [finding.fix]).code
    except Exception:  # a broken fix is reported by --fix; here it simply has no edits
        return []
    starts = [0]
    for text in source_lines(before):
        starts.append(starts[-1] + len(text))
    edits: list[TextEdit] = []
    for start, end, inserted in diff_offsets(before, after):
        line, col = _position(starts, start)
        end_line, end_col = _position(starts, end)
        edits.append(TextEdit(line, col, end_line, end_col, inserted))
    return edits


def finding_to_json(finding: Finding, result: Result | None) -> dict[str, object]:
    fix = finding.fix
    return {
        "path": printable(finding.path),
        "line": finding.line,
        "column": finding.col,
        "end_line": finding.end_line,
        "end_column": finding.end_col,
        "code": finding.code,
        "slug": finding.slug,
        "message": printable(finding.message),
        "fix": None
        if fix is None
        else {
            "safety": fix.safety.value,
            "title": fix.title,
            "edits": [
                {
                    "location": {"line": e.line, "column": e.col},
                    "end_location": {"line": e.end_line, "column": e.end_col},
                    "content": e.content,
                }
                for e in text_edits(result, finding)
            ],
        },
    }


def render_json(report: Report, ascii_only: bool = False) -> str:
    """``ascii_only``: non-ASCII characters as ``\\u`` escapes, for an output stream that cannot
    encode them (the JSON means the same)."""
    out = [finding_to_json(finding, result) for result in report.results for finding in result.findings]
    return json.dumps(out, indent=2, ensure_ascii=ascii_only) + "\n"


def relative_path(path: str) -> str:
    """``path`` with forward slashes, relative to the working folder when it lies inside it (what
    GitHub annotations and SARIF expect: paths from the repository root, where CI runs)."""
    pure = Path(path)
    if pure.is_absolute():
        try:
            pure = pure.relative_to(Path.cwd())
        except ValueError:
            return pure.as_posix()
    return PurePosixPath(pure.as_posix()).as_posix()


def escape_data(value: str) -> str:
    """Escaping for a workflow command's message (GitHub's ``escapeData``)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escaping for a workflow command's property values (GitHub's ``escapeProperty``)."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report) -> str:
    """One ``::error`` workflow command per finding: GitHub shows it as an annotation on the line."""
    lines = []
    for f in report.findings:
        props = ",".join(
            f"{key}={escape_property(str(value))}"
            for key, value in (
                ("file", relative_path(f.path)),
                ("line", f.line),
                ("col", f.col),
                ("endLine", f.end_line),
                ("endColumn", f.end_col),
                ("title", f"asynclint ({f.code})"),
            )
        )
        lines.append(f"::error {props}::{escape_data(f.message)}")
    return printable("\n".join(lines) + ("\n" if lines else ""))


def render_sarif(report: Report) -> str:
    from asynclint.sarif import to_sarif

    return json.dumps(to_sarif(report), indent=2) + "\n"


RENDERERS: dict[str, Callable[[Report], str]] = {
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
}


def render(
    report: Report, fmt: str, statistics: bool = False, ascii_only: bool = False, display: Display | None = None
) -> str:
    """``display``: the stream is a terminal or colour is forced (asynclint.terminal.choose); the
    text formats then go through rich. Without it, or on a pipe, text is byte-stable."""
    if fmt in ("text", "concise"):
        if display is not None and (display.colour or (display.terminal and fmt == "text")):
            from asynclint.terminal import render_terminal  # imports rich

            return render_terminal(report, fmt, display, statistics=statistics)
        return render_text(report, concise=fmt == "concise", statistics=statistics)
    if fmt == "json":
        if statistics:
            return render_statistics_json(report)
        return render_json(report, ascii_only=ascii_only)
    return RENDERERS[fmt](report)
