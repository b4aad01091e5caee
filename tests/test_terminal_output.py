"""Terminal output: the full view (excerpt, underline, fix, docs link, summary by rule) when stdout is
a terminal or colour is forced, each fix as a diff only with --show-fixes, NO_COLOR / FORCE_COLOR /
--color, byte-stable plain text on a pipe, --statistics fixes, rich imported lazily, and the
progress spinner on stderr."""
from __future__ import annotations

import io
import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from asynclint.model import FileOutcome, Result
from asynclint.terminal import Display, choose, progress, rule_url, rules_doc_url

ANSI = re.compile(r"\x1b\[[0-9;]*m")
OSC8 = re.compile(r"\x1b\]8;[^\x1b]*\x1b\\")
COLOUR_ENV = ("NO_COLOR", "FORCE_COLOR", "ASYNCLINT_OUTPUT_FORMAT", "TERM", "COLUMNS", "TTY_COMPATIBLE")

# tab-indented, a wide (CJK) string before a call, a multi-line call, an unsafe fix and no fix
APP = (
    "import asyncio\n"
    "import time\n"
    "\n"
    "import requests\n"
    "\n"
    "\n"
    "async def handler():\n"
    "\ttime.sleep(1)\n"
    '\tname = "日本語"; time.sleep(2)\n'
    "\trequests.get(\n"
    '\t\t"https://example.com",\n'
    "\t)\n"
    "\tasyncio.run(other())\n"
    "\n"
    "\n"
    "async def other():\n"
    "    await asyncio.sleep(0)\n"
)

PLAIN = (
    "app.py:8:2: ASL200 [*] `time.sleep(...)` blocks the event loop; use `await asyncio.sleep(...)`\n"
    "app.py:9:16: ASL200 [*] `time.sleep(...)` blocks the event loop; use `await asyncio.sleep(...)`\n"
    "app.py:10:2: ASL210 `requests.get(...)` blocks the event loop; use an async client (`httpx.AsyncClient`, "
    "`aiohttp`) or `await asyncio.to_thread(...)`\n"
    "app.py:13:2: ASL103 `asyncio.run(...)` inside a coroutine body raises `RuntimeError`: an event loop is "
    "already running; `await` the coroutine instead\n"
    "Found 4 errors (2 fixable with --fix; 1 more with --fix --unsafe-fixes).\n"
)


def full_view(show_fixes: bool = False) -> str:
    """The full view of APP; with ``--show-fixes`` each ``[*]`` fix's diff under its help line, and
    ``--show-fixes``' tables between the summary by rule and the summary line."""
    docs = rules_doc_url()

    def only_shown(*rows: str) -> str:
        return "".join(rows) if show_fixes else ""

    return (
        "app.py:8:2: ASL200 [*] `time.sleep(...)` blocks the event loop; use `await asyncio.sleep(...)`\n"
        "  |\n"
        "8 |     time.sleep(1)\n"
        "  |     ^^^^^^^^^^^^^\n"
        "  = help: Replace with `await asyncio.sleep(...)` (safe fix: --fix)\n"
        + only_shown(
            "8 -     time.sleep(1)\n",
            "8 +     await asyncio.sleep(1)\n",
        )
        + f"  = docs: {docs}#asl200-blocking-sleep\n"
        "\n"
        "app.py:9:16: ASL200 [*] `time.sleep(...)` blocks the event loop; use `await asyncio.sleep(...)`\n"
        "  |\n"
        '9 |     name = "日本語"; time.sleep(2)\n'
        # 4 (the tab) + 8 + 6 (three wide characters) + 3 cells before the call
        "  |                      ^^^^^^^^^^^^^\n"
        "  = help: Replace with `await asyncio.sleep(...)` (safe fix: --fix)\n"
        + only_shown(
            '9 -     name = "日本語"; time.sleep(2)\n',
            '9 +     name = "日本語"; await asyncio.sleep(2)\n',
        )
        + f"  = docs: {docs}#asl200-blocking-sleep\n"
        "\n"
        "app.py:10:2: ASL210 `requests.get(...)` blocks the event loop; use an async client (`httpx.AsyncClient`, "
        "`aiohttp`) or `await asyncio.to_thread(...)`\n"
        "   |\n"
        "10 |     requests.get(\n"
        "   |     ^^^^^^^^^^^^^\n"
        '11 |         "https://example.com",\n'
        "   |         ^^^^^^^^^^^^^^^^^^^^^^\n"
        "12 |     )\n"
        "   |     ^\n"
        "   = help: Run in a worker thread with `await asyncio.to_thread` (unsafe fix: --fix --unsafe-fixes)\n"
        f"   = docs: {docs}#asl210-blocking-http\n"
        "\n"
        "app.py:13:2: ASL103 `asyncio.run(...)` inside a coroutine body raises `RuntimeError`: an event loop is "
        "already running; `await` the coroutine instead\n"
        "   |\n"
        "13 |     asyncio.run(other())\n"
        "   |     ^^^^^^^^^^^^^^^^^^^^\n"
        f"   = docs: {docs}#asl103-nested-event-loop\n"
        "\n"
        "Findings by rule:\n"
        "  2  ASL200  blocking-sleep     [*] fixable\n"
        "  1  ASL103  nested-event-loop\n"
        "  1  ASL210  blocking-http      fixable with --unsafe-fixes\n"
        + only_shown(
            "\n",
            "2 fixable with --fix:\n",
            "- app.py:\n",
            "    2 × ASL200 (blocking-sleep)\n",
            "\n",
            "1 more with --fix --unsafe-fixes:\n",
            "- app.py:\n",
            "    1 × ASL210 (blocking-http)\n",
            "\n",
        )
        + "Found 4 errors (2 fixable with --fix; 1 more with --fix --unsafe-fixes).\n"
    )


#: a diff row of the full view: a line number (or none, for ``:``), then ``-`` or ``+``
DIFF_ROW = re.compile(r"^ *[0-9]+ [-+] ", re.MULTILINE)


def strip(text: str) -> str:
    return ANSI.sub("", OSC8.sub("", text))


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in COLOUR_ENV}
    env.update(extra)
    return env


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asynclint", "--no-cache", *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def run_in_pty(*args: str, cwd: Path, **env: str) -> tuple[int, str]:
    """asynclint with stdout on a pseudo-terminal (stderr on a pipe, where no spinner shows however
    slow the machine is); the output with the terminal's ``\\r\\n`` turned back into ``\\n``."""
    pty = pytest.importorskip("pty")
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "asynclint", "--no-cache", *args],
        cwd=cwd,
        env=clean_env(TERM="xterm-256color", **env),
        stdin=subprocess.DEVNULL,
        stdout=child,
        stderr=subprocess.PIPE,
    )
    os.close(child)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([main], [], [], 120)
            if not ready:
                break
            try:
                data = os.read(main, 65536)
            except OSError:  # the child closed its end (Linux: EIO)
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(main)
    code = proc.wait(timeout=120)
    assert proc.stderr is not None
    assert proc.stderr.read() == b""
    proc.stderr.close()
    return code, b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


@pytest.fixture
def app(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    return tmp_path


# ------------------------------------------------------------------------------ choosing


def test_output_file_from_a_terminal_is_the_plain_text(app: Path) -> None:
    """``-o`` writes a file: the same plain text whether the command runs on a terminal or not."""
    code, shown = run_in_pty("-o", "from-terminal.txt", "app.py", cwd=app)
    assert (code, shown) == (1, "")
    run("-o", "from-pipe.txt", "app.py", cwd=app)
    written = (app / "from-terminal.txt").read_text(encoding="utf-8")
    assert written == (app / "from-pipe.txt").read_text(encoding="utf-8")
    assert "= help:" not in written and "\x1b" not in written and "\nFound 4 errors (" in written


def test_pipe_output_is_the_plain_text_byte_for_byte(app: Path) -> None:
    out = run("app.py", cwd=app)
    assert (out.returncode, out.stdout, out.stderr) == (1, PLAIN, "")
    assert run("--color", "never", "app.py", cwd=app, FORCE_COLOR="1").stdout == PLAIN
    assert run("app.py", cwd=app, NO_COLOR="1", FORCE_COLOR="1").stdout == PLAIN  # NO_COLOR wins
    assert run("app.py", cwd=app, FORCE_COLOR="").stdout == PLAIN  # empty: not set


def test_forced_colour_shows_the_full_view(app: Path) -> None:
    out = run("--show-fixes", "app.py", cwd=app, FORCE_COLOR="1")
    assert out.returncode == 1 and out.stderr == ""
    assert strip(out.stdout) == full_view(show_fixes=True)
    assert run("--color", "always", "app.py", cwd=app, NO_COLOR="1").stdout.count("\x1b[") > 0  # the flag wins


def test_colour_codes_and_links_only_when_colour_is_on(app: Path) -> None:
    coloured = run("--show-fixes", "app.py", cwd=app, FORCE_COLOR="1").stdout
    url = rule_url("ASL200", "blocking-sleep")
    # the code in the first line is an OSC 8 link to the rule's docs, in bold red
    first = coloured.splitlines()[0]
    assert re.fullmatch(
        r"\x1b\[1mapp\.py\x1b\[0m:8:2: \x1b\]8;id=[^;]*;" + re.escape(url) + r"\x1b\\\x1b\[1;31mASL200\x1b\[0m"
        r"\x1b\]8;;\x1b\\ \x1b\[36m\[\*\]\x1b\[0m `time\.sleep\(\.\.\.\)` blocks the event loop; "
        r"use `await asyncio\.sleep\(\.\.\.\)`",
        first,
    ), repr(first)
    assert "\x1b[1;31m^^^^^^^^^^^^^\x1b[0m" in coloured  # the carets
    assert "\x1b[31m    time.sleep(1)\x1b[0m" in coloured  # the removed line
    assert "\x1b[32m    await asyncio.sleep(1)\x1b[0m" in coloured  # the added line
    assert coloured.count("\x1b]8;id=") == 8  # each finding's code and its docs line
    assert "\x1b" not in run("app.py", cwd=app).stdout


def test_the_docs_link_is_sarifs_help_uri(app: Path) -> None:
    sarif = json.loads(run("--output-format", "sarif", "app.py", cwd=app).stdout)
    help_uris = {r["id"]: r["helpUri"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rule_url("ASL200", "blocking-sleep") == help_uris["ASL200"]
    assert rule_url("ASL001", "syntax-error") == help_uris["ASL001"]
    assert f"  = docs: {help_uris['ASL210']}\n" in strip(run("app.py", cwd=app, FORCE_COLOR="1").stdout)


@pytest.mark.parametrize(
    ("tty", "color", "env", "expected"),
    [
        (False, "auto", {}, Display(terminal=False, colour=False)),
        (True, "auto", {}, Display(terminal=True, colour=True)),
        (True, "auto", {"NO_COLOR": "1"}, Display(terminal=True, colour=False)),
        (True, "auto", {"NO_COLOR": ""}, Display(terminal=True, colour=True)),
        (True, "auto", {"TERM": "dumb"}, Display(terminal=True, colour=False)),
        (False, "auto", {"FORCE_COLOR": "1"}, Display(terminal=True, colour=True)),
        (False, "auto", {"FORCE_COLOR": "1", "NO_COLOR": "1"}, Display(terminal=False, colour=False)),
        (True, "never", {"FORCE_COLOR": "1"}, Display(terminal=True, colour=False)),
        (False, "always", {"NO_COLOR": "1"}, Display(terminal=True, colour=True)),
    ],
)
def test_choose(tty: bool, color: str, env: dict[str, str], expected: Display) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    assert choose(Stream(), color, env) == expected


def test_a_terminal_gets_the_full_view_in_colour(app: Path) -> None:
    code, output = run_in_pty("app.py", cwd=app)
    assert code == 1
    assert "\x1b[1;31mASL200\x1b[0m" in output
    assert strip(output) == full_view()
    # --show-fixes: each [*] fix as a diff, and its own tables after the findings
    code, output = run_in_pty("--show-fixes", "app.py", cwd=app)
    assert code == 1
    assert "\x1b[32m    await asyncio.sleep(1)\x1b[0m" in output
    assert strip(output) == full_view(show_fixes=True)


def test_no_color_beats_a_terminal(app: Path) -> None:
    code, output = run_in_pty("--show-fixes", "app.py", cwd=app, NO_COLOR="1")
    assert code == 1
    assert output == full_view(show_fixes=True)  # the same layout, not one escape sequence


def test_without_show_fixes_the_view_has_the_fix_title_and_no_diff(app: Path) -> None:
    """A fix's diff costs a transform of the whole module: only --show-fixes shows it (and only
    then does the run work the edits out, in the fix machinery that the plain text never imports)."""
    out = run("app.py", cwd=app, FORCE_COLOR="1")
    assert out.returncode == 1 and out.stderr == ""
    view = strip(out.stdout)
    assert view == full_view()
    assert view.count("  = help: Replace with `await asyncio.sleep(...)` (safe fix: --fix)\n") == 2
    assert DIFF_ROW.findall(view) == []
    assert DIFF_ROW.findall(full_view(show_fixes=True)) == ["8 - ", "8 + ", "9 - ", "9 + "]
    assert "asynclint.fixes" not in imported_modules("app.py", cwd=app, FORCE_COLOR="1")
    assert "asynclint.fixes" in imported_modules("--show-fixes", "app.py", cwd=app, FORCE_COLOR="1")


def test_concise_on_a_terminal_is_coloured_but_the_same_lines(app: Path) -> None:
    code, output = run_in_pty("--output-format", "concise", "app.py", cwd=app)
    assert code == 1 and "\x1b[" in output
    assert strip(output) == PLAIN.rsplit("Found", 1)[0]
    code, output = run_in_pty("--output-format", "concise", "app.py", cwd=app, NO_COLOR="1")
    assert output == PLAIN.rsplit("Found", 1)[0]


def test_json_on_a_terminal_is_unchanged(app: Path) -> None:
    code, output = run_in_pty("--output-format", "json", "app.py", cwd=app)
    assert json.loads(output) == json.loads(run("--output-format", "json", "app.py", cwd=app).stdout)


# ------------------------------------------------------------------------------ the full view


def test_multi_line_span_longer_than_five_lines_is_elided(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import requests\n\n\nasync def f():\n    requests.post(\n        'https://example.com',\n"
        "        json={\n            'a': 1,\n            'b': 2,\n        },\n    )\n",
        encoding="utf-8",
    )
    out = strip(run("app.py", cwd=tmp_path, FORCE_COLOR="1").stdout)
    assert out.split("   = help:")[0].splitlines()[1:] == [
        "   |",
        " 5 |     requests.post(",
        "   |     ^^^^^^^^^^^^^^",
        " 6 |         'https://example.com',",
        "   |         ^^^^^^^^^^^^^^^^^^^^^^",
        " 7 |         json={",
        "   |         ^^^^^^",
        "   :",
        "11 |     )",
        "   |     ^",
    ]


def test_syntax_error_points_at_its_column(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("async def f(:\n    pass\n", encoding="utf-8")
    out = strip(run("bad.py", cwd=tmp_path, FORCE_COLOR="1").stdout)
    assert out == (
        "bad.py:1:13: ASL001 SyntaxError: invalid syntax\n"
        "  |\n"
        "1 | async def f(:\n"
        "  |             ^\n"
        f"  = docs: {rules_doc_url()}#asynclint-rules\n"
        "\n"
        "Findings by rule:\n"
        "  1  ASL001  syntax-error\n"
        "Found 1 error.\n"
    )


def test_fix_with_an_import_shows_both_hunks_and_control_characters_are_escaped(tmp_path: Path) -> None:
    """A fix that swaps ``import time`` for ``import asyncio``: two hunks, each line numbered as in
    its file; combining characters take no cell, an escape character is shown, not sent."""
    (tmp_path / "app.py").write_bytes(
        'import time\n\n\nasync def f():\n    s = "e\u0301\u0301\x1b"; time.sleep(1)'.encode("utf-8")
    )
    out = strip(run("--show-fixes", "app.py", cwd=tmp_path, FORCE_COLOR="1").stdout)
    assert out.split("\n\n")[0] == (
        "app.py:5:17: ASL200 [*] `time.sleep(...)` blocks the event loop; use `await asyncio.sleep(...)`\n"
        "  |\n"
        '5 |     s = "e\u0301\u0301\\x1b"; time.sleep(1)\n'
        # 9 cells, then e with its two combining accents (1), the escape shown as \x1b (4), 3 more
        "  | " + " " * 17 + "^^^^^^^^^^^^^\n"
        "  = help: Replace with `await asyncio.sleep(...)` (safe fix: --fix)\n"
        "1 - import time\n"
        "1 + import asyncio\n"
        "  :\n"
        '5 -     s = "e\u0301\u0301\\x1b"; time.sleep(1)\n'
        '5 +     s = "e\u0301\u0301\\x1b"; await asyncio.sleep(1)\n'
        f"  = docs: {rules_doc_url()}#asl200-blocking-sleep"
    )


def test_unsafe_fixes_are_shown_as_a_diff_with_unsafe_fixes(app: Path) -> None:
    out = strip(run("--show-fixes", "--unsafe-fixes", "app.py", cwd=app, FORCE_COLOR="1").stdout)
    assert out.split("\n\n")[2].splitlines()[8:] == [
        "   = help: Run in a worker thread with `await asyncio.to_thread` (unsafe fix: --fix --unsafe-fixes)",
        "10 -     requests.get(",
        '11 -         "https://example.com",',
        '10 +     await asyncio.to_thread(requests.get, "https://example.com",',
        f"   = docs: {rules_doc_url()}#asl210-blocking-http",
    ]
    assert out.endswith(
        "Findings by rule:\n"
        "  2  ASL200  blocking-sleep     [*] fixable\n"
        "  1  ASL103  nested-event-loop\n"
        "  1  ASL210  blocking-http      [*] fixable\n"
        "\n"
        "3 fixable with --fix --unsafe-fixes:\n"
        "- app.py:\n"
        "    2 × ASL200 (blocking-sleep)\n"
        "    1 × ASL210 (blocking-http)\n"
        "\n"
        "Found 4 errors (3 fixable with --fix --unsafe-fixes).\n"
    )


def test_worker_processes_give_the_same_view(tmp_path: Path) -> None:
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text(APP, encoding="utf-8")
    serial = run("--show-fixes", "-j", "1", ".", cwd=tmp_path, FORCE_COLOR="1").stdout
    pooled = run("--show-fixes", "-j", "2", ".", cwd=tmp_path, FORCE_COLOR="1").stdout
    assert strip(serial) == strip(pooled)
    assert strip(serial).count("\n8 +     await asyncio.sleep(1)\n") == 3


def test_standard_input_has_no_excerpt_of_the_file_it_is_named_after(tmp_path: Path) -> None:
    """The file on disk is not what was checked (an editor's unsaved buffer): no excerpt, and no
    diff even with --show-fixes."""
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "asynclint", "--no-cache", "--show-fixes", "-", "--stdin-filename", "app.py"],
        cwd=tmp_path, env=clean_env(FORCE_COLOR="1"), input="import time\n\n\nasync def g():\n    time.sleep(5)\n",
        capture_output=True, text=True, encoding="utf-8", timeout=120,
    )
    assert strip(proc.stdout) == (
        "app.py:5:5: ASL200 [*] `time.sleep(...)` blocks the event loop; use `await asyncio.sleep(...)`\n"
        "  = help: Replace with `await asyncio.sleep(...)` (safe fix: --fix)\n"
        f"  = docs: {rules_doc_url()}#asl200-blocking-sleep\n"
        "\n"
        "Findings by rule:\n"
        "  1  ASL200  blocking-sleep  [*] fixable\n"
        "\n"
        "1 fixable with --fix:\n"
        "- app.py:\n"
        "    1 × ASL200 (blocking-sleep)\n"
        "\n"
        "Found 1 error (1 fixable with --fix).\n"
    )


def test_clean_run_on_a_terminal(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("import asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)\n", encoding="utf-8")
    out = run("ok.py", cwd=tmp_path, FORCE_COLOR="1").stdout
    assert out == "\x1b[1;32mAll checks passed!\x1b[0m\n"


# ------------------------------------------------------------------------------ --statistics


MIXED = "import time\n\nimport requests\n\n\nasync def f():\n    time.sleep(1)\n    time.sleep(2)\n    requests.get('u')\n"


def test_statistics_mark_only_fixes_that_fix_applies(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(MIXED, encoding="utf-8")
    assert run("--statistics", "app.py", cwd=tmp_path).stdout == (
        "2\tASL200\t[*] blocking-sleep\n"
        "1\tASL210\tblocking-http\n"
        "Found 3 errors (2 fixable with --fix; 1 more with --fix --unsafe-fixes).\n"
    )
    assert run("--statistics", "--unsafe-fixes", "app.py", cwd=tmp_path).stdout == (
        "2\tASL200\t[*] blocking-sleep\n"
        "1\tASL210\t[*] blocking-http\n"
        "Found 3 errors (3 fixable with --fix --unsafe-fixes).\n"
    )
    coloured = run("--statistics", "app.py", cwd=tmp_path, FORCE_COLOR="1").stdout
    assert "\x1b[1;31mASL200\x1b[0m" in coloured
    assert strip(coloured) == run("--statistics", "app.py", cwd=tmp_path).stdout  # tabs kept


def test_statistics_as_json(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(MIXED, encoding="utf-8")
    out = run("--statistics", "--output-format", "json", "app.py", cwd=tmp_path)
    assert out.returncode == 1
    assert json.loads(out.stdout) == [
        {"code": "ASL200", "name": "blocking-sleep", "count": 2, "fixable": True},
        {"code": "ASL210", "name": "blocking-http", "count": 1, "fixable": False},
    ]
    unsafe = run("--statistics", "--unsafe-fixes", "--output-format", "json", "app.py", cwd=tmp_path)
    assert [row["fixable"] for row in json.loads(unsafe.stdout)] == [True, True]
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    assert run("--statistics", "--output-format", "json", "app.py", cwd=tmp_path).stdout == "[]\n"


# ------------------------------------------------------------------------------ rich stays lazy


def imported_modules(*args: str, cwd: Path, **env: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "asynclint", "--no-cache", *args],
        cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=120,
    )
    return {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}


def test_rich_is_imported_only_for_the_terminal(app: Path) -> None:
    assert not any(m.startswith("rich") for m in imported_modules("--version", cwd=app))
    assert not any(m.startswith("rich") for m in imported_modules("app.py", cwd=app))
    assert not any(m.startswith("rich") for m in imported_modules("--output-format", "json", "app.py", cwd=app))
    assert "rich.text" in imported_modules("app.py", cwd=app, FORCE_COLOR="1")  # the check can fail


# ------------------------------------------------------------------------------ progress


class FakeTerminal(io.StringIO):
    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


def slowly(items: list[FileOutcome], pause: float) -> Iterator[FileOutcome]:
    for item in items:
        time.sleep(pause)
        yield item


def outcomes(n: int) -> list[FileOutcome]:
    return [FileOutcome(f"f{i}.py", result=Result(path=f"f{i}.py")) for i in range(n)]


def test_progress_shows_a_spinner_after_the_delay_and_erases_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERM", raising=False)
    stream = FakeTerminal()
    items = outcomes(6)
    assert list(progress(slowly(items, 0.1), stream, delay=0.25)) == items
    written = stream.getvalue()
    assert "files checked" in written and "6 files checked" in written
    assert "1 file checked" not in written and "2 files checked" not in written  # not before the delay
    assert written.startswith("\x1b[?25l")  # the cursor hidden while it shows ...
    assert written.endswith("\x1b[?25h\r\x1b[1A\x1b[2K")  # ... shown again, and the line erased


def test_progress_is_silent_on_a_quick_run_and_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERM", raising=False)
    stream = FakeTerminal()
    assert list(progress(iter(outcomes(50)), stream)) == outcomes(50)
    assert stream.getvalue() == ""
    pipe = io.StringIO()
    assert list(progress(slowly(outcomes(3), 0.1), pipe, delay=0.0)) == outcomes(3)
    assert pipe.getvalue() == ""


def test_progress_steps_aside_before_an_outcome_that_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERM", raising=False)
    stream = FakeTerminal()
    items = outcomes(4)
    items[2] = FileOutcome("bad.py", read_error="cannot read")
    seen = []
    for item in progress(slowly(items, 0.05), stream, delay=0.0):
        seen.append(stream.getvalue())
    assert "1 file checked" in seen[0] and "checked" in seen[1]
    assert seen[2].endswith("\x1b[2K")  # erased: the error line starts on a clean line
    assert stream.getvalue().endswith("\x1b[2K")


def test_progress_turns_while_the_run_waits_for_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """With worker processes the answers come in file order, often all at the end: the parent's
    wait for a worker ticks the spinner (parallel.on_wait), so it shows before any file is done."""
    import concurrent.futures

    from asynclint import parallel

    monkeypatch.delenv("TERM", raising=False)
    stream = FakeTerminal()
    items = outcomes(2)

    def from_a_worker() -> Iterator[FileOutcome]:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            future = pool.submit(lambda: (time.sleep(0.6), items[0])[1])
            yield parallel._result(future)
        yield items[1]

    seen = []
    for _ in progress(from_a_worker(), stream, delay=0.2):
        seen.append(stream.getvalue())
    assert "0 files checked" in seen[0]  # drawn while waiting, before the first answer
    assert parallel.on_wait is None  # the hook is removed at the end
    assert stream.getvalue().endswith("\x1b[2K")


# ------------------------------------------------------------------------------ the docs


README_APP = "import asyncio\nimport time\n\nimport requests\n\n\nasync def handler(url):\n    time.sleep(1)\n    return requests.get(url)\n"
DOCS_URL = "https://github.com/asynclint/asynclint/blob/main/docs/rules.md"


def test_the_documented_views_are_what_asynclint_prints(tmp_path: Path) -> None:
    """docs/terminal-output.md's full views (without and with --show-fixes) and README's console
    block, run on their app.py."""
    repo = Path(__file__).resolve().parents[1]
    (tmp_path / "app.py").write_text(README_APP, encoding="utf-8")
    full = strip(run("app.py", cwd=tmp_path, FORCE_COLOR="1").stdout).replace(rules_doc_url(), DOCS_URL)
    with_fixes = strip(run("--show-fixes", "app.py", cwd=tmp_path, FORCE_COLOR="1").stdout)
    with_fixes = with_fixes.replace(rules_doc_url(), DOCS_URL)
    assert DIFF_ROW.findall(full) == [] and DIFF_ROW.findall(with_fixes) == ["2 - ", "8 - ", "7 + "]
    plain = run("app.py", cwd=tmp_path).stdout
    statistics = run("--statistics", "app.py", cwd=tmp_path).stdout
    doc = (repo / "docs" / "terminal-output.md").read_text(encoding="utf-8")
    assert "```text\n" + full + "```\n" in doc
    assert "$ asynclint --show-fixes app.py\n" + with_fixes + "```\n" in doc
    readme = (repo / "README.md").read_text(encoding="utf-8")
    session = f"$ asynclint app.py\n{full}$ asynclint app.py | cat\n{plain}$ asynclint --statistics app.py\n{statistics}```\n"
    assert session in readme
    stats_json = run("--statistics", "--output-format", "json", "app.py", cwd=tmp_path).stdout
    assert "$ asynclint --statistics --output-format json app.py\n" + stats_json + "```\n" in doc
