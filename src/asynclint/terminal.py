"""Output for a person at a terminal: when to use colour and the full view, the full view itself
(source excerpts with the span underlined, the fix as a small diff, a link to the rule's docs, a
summary by rule) and the progress spinner on stderr. rich is imported only on those paths: a run
whose output goes to a file or a pipe never imports it."""
from __future__ import annotations

import io
import os
import time
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, TextIO, TypeVar

from asynclint.links import anchor, rules_doc_url
from asynclint.model import Finding, Result, Safety, TextEdit
from asynclint.output import (
    Report,
    _marker,
    printable,
    source_lines,
    statistics_rows,
    summary_line,
    text_edits,
)
from asynclint.registry import SYNTAX_ERROR_CODE

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

COLOR_CHOICES = ("auto", "always", "never")
#: display width of a tab in a source excerpt (tabs are shown as spaces, so the carets line up)
TAB_SIZE = 4
#: a span longer than this shows its first lines and its last line
MAX_SPAN_LINES = 5
#: a fix's diff longer than this shows its first lines and how many more there are
MAX_DIFF_LINES = 12
#: invisible characters that change how a line reads (Trojan Source): shown as escapes
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

T = TypeVar("T")


# ------------------------------------------------------------------------------ the choice


def _isatty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (ValueError, OSError):  # a closed stream
        return False


@dataclass(frozen=True)
class Display:
    """How the text formats are shown on one stream. ``terminal``: the full view (excerpts, fixes,
    links, summary by rule) for ``text``; ``colour``: ANSI styles and OSC 8 links."""

    terminal: bool = False
    colour: bool = False
    #: the checked text is in the files the findings name (not so for standard input): the view
    #: shows excerpts and diffs only then
    files: bool = True
    #: each fixable finding shows its fix as a diff (``--show-fixes``): the run computes every
    #: fix's text edits, a transform of the whole module per fix (80 ms on a small file, seconds
    #: on a large one), so a plain terminal run shows the fix's title only and costs what a pipe does
    diffs: bool = False

    def shows_fixes(self, fmt: str, statistics: bool = False) -> bool:
        """Whether the output shows fixes as text edits (the run must compute them)."""
        return self.diffs and self.terminal and self.files and fmt == "text" and not statistics


def choose(
    stream: Any, color: str = "auto", environ: Mapping[str, str] | None = None, files: bool = True, diffs: bool = False
) -> Display:
    """``--color always|never`` wins; ``auto``: no colour when ``NO_COLOR`` is set (any non-empty
    value), colour when ``FORCE_COLOR`` is (any non-empty value, https://force-color.org), else
    colour when the stream is a terminal that is not ``TERM=dumb``. The full view is used on a
    terminal and wherever colour is on, so a pipe or a file without forced colour gets exactly the
    plain text."""
    env = os.environ if environ is None else environ
    tty = _isatty(stream)
    if color == "always":
        colour = True
    elif color == "never":
        colour = False
    elif env.get("NO_COLOR", ""):
        colour = False
    elif env.get("FORCE_COLOR", ""):
        colour = True
    else:
        colour = tty and env.get("TERM", "") != "dumb"
    return Display(terminal=tty or colour, colour=colour, files=files, diffs=diffs)


# ------------------------------------------------------------------------------ links


def rule_url(code: str, slug: str) -> str:
    """The rule's section of docs/rules.md (ASL001 has none: the page's top)."""
    if code == SYNTAX_ERROR_CODE:
        return f"{rules_doc_url()}#asynclint-rules"
    return f"{rules_doc_url()}#{anchor(code, slug)}"


# ------------------------------------------------------------------------------ source text


def _decode(data: bytes) -> str:
    """The file's text as the parser saw it: its coding cookie or BOM, else UTF-8."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:  # an unknown or contradictory coding cookie
        encoding = "utf-8"
    try:
        return data.decode(encoding, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


class _Sources:
    """Each file's lines (without their line endings), read once for all its findings."""

    def __init__(self, files: bool = True, diffs: bool = True) -> None:
        self.files = files
        self.diffs = diffs
        self._lines: dict[str, list[str] | None] = {}

    def lines(self, result: Result) -> list[str] | None:
        if result.path not in self._lines:
            data = result.source
            if not data:
                try:
                    data = Path(result.path).read_bytes()
                except OSError:
                    self._lines[result.path] = None
                    return None
            self._lines[result.path] = [_strip_eol(line) for line in source_lines(_decode(data))]
        return self._lines[result.path]


def _strip_eol(line: str) -> str:
    return line.rstrip("\r\n")


def _pieces(line: str) -> list[str]:
    """How each character of ``line`` is shown: a tab as spaces up to the next tab stop, control
    and bidirectional-override characters as escapes, every other character as itself."""
    from rich.cells import cell_len

    out: list[str] = []
    width = 0
    for ch in line:
        if ch == "\t":
            shown = " " * (TAB_SIZE - width % TAB_SIZE)
        elif ch in _BIDI or (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0):
            shown = f"\\u{ord(ch):04x}" if ord(ch) > 0xFF else f"\\x{ord(ch):02x}"
        else:
            shown = ch
        out.append(shown)
        width += cell_len(shown)
    return out


def _cells(pieces: list[str]) -> int:
    from rich.cells import cell_len

    return sum(cell_len(p) for p in pieces)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


# ------------------------------------------------------------------------------ the full view


class _Styles:
    """The styles of the view; all empty when colour is off."""

    def __init__(self, colour: bool) -> None:
        on = colour
        self.path = "bold" if on else ""
        self.code = "bold red" if on else ""
        self.fixable = "cyan" if on else ""
        self.unsafe = "yellow" if on else ""
        self.gutter = "bold blue" if on else ""
        self.caret = "bold red" if on else ""
        self.help = "cyan" if on else ""
        self.removed = "red" if on else ""
        self.added = "green" if on else ""
        self.docs = "dim" if on else ""
        self.count = "bold" if on else ""
        self.summary = "bold" if on else ""
        self.passed = "bold green" if on else ""
        self.colour = on


def _console() -> Console:
    """A console only for looking up the style names the lines use: the lines are written by
    ``_ansi``, not printed through rich, so nothing is wrapped, cropped or tab-expanded and the
    text without its styles is exactly what the plain format prints."""
    from rich.console import Console

    return Console(file=io.StringIO(), highlight=False, markup=False, emoji=False, legacy_windows=False, _environ={})


def _ansi(line: Text, console: Console, colour: bool) -> str:
    from rich.color import ColorSystem
    from rich.text import Text

    system = ColorSystem.STANDARD if colour else None
    if line.style:  # Text.render leaves out a line's own style: make it a span
        line = Text().append_text(line)
    return "".join(
        segment.style.render(segment.text, color_system=system) if segment.style else segment.text
        for segment in line.render(console)
    )


def _header(finding: Finding, unsafe_fixes: bool, styles: _Styles) -> Text:
    """The plain format's line, with the code linked to its docs when colour is on."""
    from rich.style import Style
    from rich.text import Text

    line = Text()
    line.append(printable(finding.path), styles.path)
    line.append(f":{finding.line}:{finding.col}: ")
    code_style = Style.parse(styles.code) if styles.colour else Style()
    if styles.colour:
        code_style += Style(link=rule_url(finding.code, finding.slug))
    line.append(finding.code, code_style)
    line.append(" ")
    marker = _marker(finding, unsafe_fixes)
    if marker:
        line.append(marker.rstrip(), styles.fixable)
        line.append(" ")
    line.append(printable(finding.message))
    return line


def _gutter(width: int, mark: str, number: int | None, styles: _Styles) -> Text:
    from rich.text import Text

    label = "" if number is None else str(number)
    return Text().append(f"{label:>{width}} {mark}", styles.gutter)  # a span: what follows is unstyled


def _excerpt(finding: Finding, lines: list[str], width: int, styles: _Styles) -> list[Text]:
    """The span's lines, each followed by carets under the span's part of it."""
    first, last = finding.line, min(finding.end_line, len(lines))
    if first < 1 or first > len(lines):
        return []
    numbers = list(range(first, max(first, last) + 1))
    if len(numbers) > MAX_SPAN_LINES:
        numbers = numbers[: MAX_SPAN_LINES - 2] + [0] + numbers[-1:]  # 0: the elision mark
    out = [_gutter(width, "|", None, styles)]
    for number in numbers:
        if number == 0:
            out.append(_gutter(width, ":", None, styles))
            continue
        text = lines[number - 1]
        pieces = _pieces(text)
        out.append(_gutter(width, "| ", number, styles).append("".join(pieces)))
        start = finding.col - 1 if number == finding.line else _indent(text)
        end = finding.end_col - 1 if number == finding.end_line else len(text.rstrip())
        if number not in (finding.line, finding.end_line) and not text.strip():
            continue  # a blank line inside the span: nothing to underline
        start = min(start, len(pieces))
        end = max(min(end, len(pieces)), start)
        pad = _cells(pieces[:start])
        carets = max(_cells(pieces[start:end]), 1)
        out.append(_gutter(width, "| ", None, styles).append(" " * pad).append("^" * carets, styles.caret))
    return out


def _hunks(edits: list[TextEdit], lines: list[str]) -> list[tuple[int, list[str], list[str]]]:
    """The edits as (first line, old lines, new lines) blocks, edits on shared lines together."""
    blocks: list[tuple[int, int, list[TextEdit]]] = []
    for edit in sorted(edits, key=lambda e: (e.line, e.col)):
        if blocks and edit.line <= blocks[-1][1]:
            first, last, group = blocks[-1]
            blocks[-1] = (first, max(last, edit.end_line), [*group, edit])
        else:
            blocks.append((edit.line, edit.end_line, [edit]))
    out = []
    for first, last, group in blocks:
        old = [lines[n - 1] if n <= len(lines) else "" for n in range(first, last + 1)]
        text = "\n".join(old)
        starts = [0]
        for line in old:
            starts.append(starts[-1] + len(line) + 1)
        new = text
        for edit in reversed(group):  # from the end, so earlier offsets stay valid
            a = starts[edit.line - first] + edit.col - 1
            b = starts[edit.end_line - first] + edit.end_col - 1
            new = new[:a] + edit.content.replace("\r\n", "\n").replace("\r", "\n") + new[b:]
        out.append((first, old, new.split("\n")))
    return out


def _diff(edits: list[TextEdit], lines: list[str], styles: _Styles) -> list[tuple[Text, int | None, str]]:
    """The fix's changed lines: (text, line number, mark) with ``-`` for old and ``+`` for new
    lines; new lines are numbered as in the fixed file."""
    import difflib

    from rich.text import Text

    rows: list[tuple[Text, int | None, str]] = []
    shift = 0  # lines the earlier hunks added
    for first, old, new in _hunks(edits, lines):
        if rows:
            rows.append((Text(""), None, ":"))
        matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            for i in range(i1, i2):
                rows.append((Text("".join(_pieces(old[i])), styles.removed), first + i, "-"))
            for j in range(j1, j2):
                rows.append((Text("".join(_pieces(new[j])), styles.added), first + shift + j, "+"))
        shift += len(new) - len(old)
    if len(rows) > MAX_DIFF_LINES:
        more = len(rows) - (MAX_DIFF_LINES - 1)
        rows = rows[: MAX_DIFF_LINES - 1] + [(Text(f"... {more} more changed lines"), None, ":")]
    return rows


def _help(finding: Finding) -> str:
    fix = finding.fix
    assert fix is not None
    if fix.safety is Safety.SAFE:
        return f"{fix.title} (safe fix: --fix)"
    return f"{fix.title} (unsafe fix: --fix --unsafe-fixes)"


def _finding_block(
    finding: Finding, result: Result, sources: _Sources, unsafe_fixes: bool, styles: _Styles
) -> list[Text]:
    from rich.style import Style
    from rich.text import Text

    lines = (sources.lines(result) or []) if sources.files else []
    # the diff only for fixes --fix applies with the flags given (the ones marked [*]), as ruff
    # does; the others say what they would do and which flags apply them
    edits = text_edits(result, finding) if sources.diffs and _marker(finding, unsafe_fixes) and lines else []
    diff = _diff(edits, lines, styles) if edits else []
    numbers = [finding.end_line, *(n for _, n, _ in diff if n is not None)]
    width = max(len(str(n)) for n in numbers)
    out = [_header(finding, unsafe_fixes, styles)]
    out.extend(_excerpt(finding, lines, width, styles))
    if finding.fix is not None:
        out.append(_gutter(width, "= ", None, styles).append("help: ", styles.help).append(_help(finding)))
        for text, number, mark in diff:
            out.append(_gutter(width, f"{mark} ", number, styles).append_text(text))
    url = rule_url(finding.code, finding.slug)
    link = Text("docs: ", styles.docs)
    link.append(url, Style.parse(styles.docs) + Style(link=url) if styles.colour else "")
    out.append(_gutter(width, "= ", None, styles).append_text(link))
    return out


def _by_rule(report: Report, styles: _Styles) -> list[Text]:
    """Per rule: how many findings, the slug, and how many of them --fix would fix."""
    from rich.text import Text

    rows = statistics_rows(report)
    if not rows:
        return []
    count_w = max(len(str(row.count)) for row in rows)
    slug_w = max(len(row.name) for row in rows)
    out = [Text("Findings by rule:", styles.summary)]
    for row in rows:
        notes = []
        if row.applicable:
            notes.append("[*] fixable" if row.applicable == row.count else f"[*] {row.applicable} fixable")
        if row.hidden:
            many = "" if row.hidden == row.count else f"{row.hidden} "
            notes.append(f"{many}fixable with --unsafe-fixes")
        line = Text("  ")
        line.append(f"{row.count:>{count_w}}", styles.count)
        line.append("  ")
        line.append(row.code, styles.code)
        line.append(f"  {row.name:<{slug_w}}  ")
        for i, note in enumerate(notes):
            line.append("; " if i else "")
            line.append(note, styles.fixable if note.startswith("[*]") else styles.unsafe)
        out.append(line)  # rstrip()ed when written: no padding after a rule without a fix
    return out


def _summary(report: Report, styles: _Styles) -> Text:
    from rich.text import Text

    text = summary_line(report)
    passed = not report.findings and not report.errors and not report.fixed
    return Text(text, styles.passed if passed else styles.summary)


def render_terminal(report: Report, fmt: str, display: Display, statistics: bool = False) -> str:
    """The text formats for a terminal: ``text`` as the full view (or the statistics), ``concise``
    as its plain lines; styled when ``display.colour``."""
    from rich.text import Text

    from asynclint.output import render_statistics

    styles = _Styles(display.colour)
    unsafe_fixes = not report.unsafe_hidden
    lines: list[Text] = []
    if statistics:
        for row in render_statistics(report):
            count, code, rest = row.split("\t")
            lines.append(Text().append(count, styles.count).append("\t").append(code, styles.code).append("\t" + rest))
    elif fmt == "concise" or not display.terminal:
        lines = [_header(f, unsafe_fixes, styles) for f in report.findings]
    else:
        sources = _Sources(display.files, display.diffs)
        for result in report.results:
            for finding in result.findings:
                lines.extend(_finding_block(finding, result, sources, unsafe_fixes, styles))
                lines.append(Text(""))
        lines.extend(_by_rule(report, styles))
    if fmt != "concise":
        lines.append(_summary(report, styles))
    console = _console()
    out = []
    for line in lines:
        line.rstrip()  # a gutter with nothing after it (a blank source line, an elision mark)
        out.append(_ansi(line, console, display.colour) + "\n")
    return printable("".join(out))


# ------------------------------------------------------------------------------ progress


def _shows_output(item: object) -> bool:
    """Whether the run loop writes something for this outcome (an error line, a diff): the
    spinner steps aside first, so the two never share a line."""
    if any(getattr(item, name, None) for name in ("read_error", "fix_error", "write_error", "diff")):
        return True
    result = getattr(item, "result", None)
    if result is None:
        return False
    return bool(result.error) or any(f.code == SYNTAX_ERROR_CODE for f in result.findings)


class _Spinner:
    """A transient rich Live display on a terminal stream, refreshed by the caller (no thread: the
    run's worker processes may be forked while it shows)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live: Any = None
        self.spinner: Any = None
        self.last = 0.0

    def show(self, count: int, now: float) -> None:
        if self.live is not None and now - self.last < 0.08:
            return
        from rich.text import Text

        label = Text(f"{count} file{'s' if count != 1 else ''} checked")
        if self.live is None:
            from rich.console import Console
            from rich.live import Live
            from rich.spinner import Spinner

            encoding = (getattr(self.stream, "encoding", None) or "").lower().replace("-", "")
            console = Console(
                file=self.stream,
                force_terminal=True,
                no_color=bool(os.environ.get("NO_COLOR", "")),
                highlight=False,
                legacy_windows=False,
            )
            if self.spinner is None:
                self.spinner = Spinner("dots" if encoding.startswith("utf") else "line", style="cyan")
            self.spinner.update(text=label)
            self.live = Live(
                self.spinner,
                console=console,
                auto_refresh=False,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self.live.start(refresh=True)
        else:
            self.spinner.update(text=label)
            self.live.refresh()
        self.last = now

    def hide(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def progress(items: Iterable[T], stream: TextIO, delay: float = 1.0) -> Iterator[T]:
    """``items`` unchanged; while they come, a spinner with the number of files checked on
    ``stream`` when it is a terminal, from ``delay`` seconds after the start. It advances as items
    arrive and is erased before an item whose handling prints something, and at the end."""
    if not _isatty(stream) or os.environ.get("TERM", "") == "dumb":
        yield from items
        return
    from asynclint import parallel  # imported by the CLI already

    spinner = _Spinner(stream)
    start = time.monotonic()
    count = 0

    def tick() -> None:
        # while the run waits for a worker process (results come in file order, so a pool's
        # answers may all arrive at the end): keep the spinner turning. The caller has printed
        # what it had for the previous item by then (it asked for the next one)
        now = time.monotonic()
        if now - start >= delay:
            spinner.show(count, now)

    previous, parallel.on_wait = parallel.on_wait, tick
    try:
        for item in items:
            count += 1
            now = time.monotonic()
            if _shows_output(item):
                spinner.hide()
            elif now - start >= delay:
                spinner.show(count, now)
            yield item
    finally:
        parallel.on_wait = previous
        spinner.hide()
