"""The CLI habits ruff users expect, run as a subprocess: standard input, --show-settings/--show-files,
--quiet/--silent, --output-file, --exclude/--extend-exclude/--force-exclude/--target-version,
--add-noqa, --show-fixes and --watch."""
from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

BLOCKING = "import asyncio\nimport time\n\n\nasync def handler():\n    time.sleep(1)\n    await asyncio.sleep(0)\n"
FIXED = "import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n    await asyncio.sleep(0)\n"
CLEAN = "import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n"
SLEEP = "app.py:6:5: ASL200 [*] `time.sleep(...)` blocks the event loop; use `await asyncio.sleep(...)`"
#: one safe fix (ASL200) and one unsafe one (ASL210)
TWO = (
    "import asyncio\nimport time\n\nimport requests\n\n\n"
    "async def handler():\n    time.sleep(1)\n    requests.get('https://x', timeout=5)\n    await asyncio.sleep(0)\n"
)
HTTP = (
    "app.py:9:5: ASL210 `requests.get(...)` blocks the event loop; use an async client "
    "(`httpx.AsyncClient`, `aiohttp`) or `await asyncio.to_thread(...)`"
)


def _env(env: dict[str, str] | None) -> dict[str, str]:
    full = {k: v for k, v in os.environ.items() if k not in ("ASYNCLINT_OUTPUT_FORMAT", "NO_COLOR", "FORCE_COLOR")}
    full.update(env or {})
    return full


def run(
    *args: str, cwd: Path, stdin: str | bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run(
        [sys.executable, "-m", "asynclint", *args],
        cwd=cwd,
        input=data if data is not None else b"",
        capture_output=True,
        env=_env(env),
        timeout=120,
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    )


def run_bytes(*args: str, cwd: Path, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "asynclint", *args], cwd=cwd, input=stdin, capture_output=True, env=_env(None), timeout=120
    )


# --- standard input ---------------------------------------------------------------------------


def test_stdin_is_checked_as_the_stdin_filename(tmp_path: Path) -> None:
    out = run("-", "--stdin-filename", "app.py", cwd=tmp_path, stdin=BLOCKING)
    assert (out.returncode, out.stdout, out.stderr) == (1, f"{SLEEP}\nFound 1 error (1 fixable with --fix).\n", "")
    assert not (tmp_path / "app.py").exists()


def test_stdin_without_a_filename_is_named_dash(tmp_path: Path) -> None:
    out = run("-", cwd=tmp_path, stdin=BLOCKING)
    assert out.returncode == 1
    assert out.stdout.splitlines() == [SLEEP.replace("app.py", "-", 1), "Found 1 error (1 fixable with --fix)."]


def test_stdin_filename_alone_reads_stdin_through_the_console_script(tmp_path: Path) -> None:
    script = shutil.which("asynclint", path=str(Path(sys.executable).parent))
    assert script is not None
    proc = subprocess.run(
        [script, "--stdin-filename", "app.py"], cwd=tmp_path, input=BLOCKING, capture_output=True, text=True, env=_env(None)
    )
    assert (proc.returncode, proc.stdout) == (1, f"{SLEEP}\nFound 1 error (1 fixable with --fix).\n")


@pytest.mark.parametrize(
    ("name", "reported"),
    [
        ("src/app.py", True),
        ("legacy/app.py", False),  # per-file-ignores
        ("tests/test_app.py", False),  # test code: ignore-in-tests = ["ASL2"]
        ("sub/app.py", False),  # sub/asynclint.toml, found from the name, ignores ASL200
    ],
)
def test_stdin_filename_decides_config_per_file_ignores_and_test_rules(tmp_path: Path, name: str, reported: bool) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.asynclint]\nper-file-ignores = { 'legacy/*.py' = ['ASL200'] }\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "asynclint.toml").write_text("ignore = ['ASL200']\n")
    out = run("--stdin-filename", name, "-", cwd=tmp_path, stdin=BLOCKING)
    if reported:
        assert (out.returncode, out.stdout.splitlines()[0]) == (1, SLEEP.replace("app.py", name, 1))
    else:
        assert (out.returncode, out.stdout) == (0, "All checks passed!\n")


def test_stdin_fix_prints_the_fixed_text_alone_on_stdout(tmp_path: Path) -> None:
    out = run("--fix", "-", "--stdin-filename", "app.py", cwd=tmp_path, stdin=BLOCKING)
    assert (out.returncode, out.stdout, out.stderr) == (0, FIXED, "Fixed 1 error. Found 0 remaining errors.\n")


def test_stdin_fix_reports_what_remains_on_stderr(tmp_path: Path) -> None:
    out = run("--fix", "--stdin-filename", "app.py", cwd=tmp_path, stdin=TWO)
    assert out.returncode == 1
    assert out.stdout == TWO.replace("import time\n", "").replace("    time.sleep(1)", "    await asyncio.sleep(1)")
    assert out.stderr.splitlines() == [
        HTTP.replace(":9:", ":8:"),
        "Fixed 1 error. Found 1 remaining error (1 more with --fix --unsafe-fixes).",
    ]


def test_stdin_fix_keeps_line_endings_and_bom_and_echoes_clean_input(tmp_path: Path) -> None:
    crlf = b"\xef\xbb\xbf" + BLOCKING.replace("\n", "\r\n").encode()
    out = run_bytes("--fix", "-", cwd=tmp_path, stdin=crlf)
    assert out.stdout == b"\xef\xbb\xbf" + FIXED.replace("\n", "\r\n").encode()
    clean = run_bytes("--fix", "-", cwd=tmp_path, stdin=CLEAN.encode())
    assert (clean.returncode, clean.stdout, clean.stderr) == (0, CLEAN.encode(), b"All checks passed!\n")


def test_stdin_diff(tmp_path: Path) -> None:
    out = run("--diff", "--stdin-filename", "app.py", "-", cwd=tmp_path, stdin=BLOCKING)
    assert out.returncode == 1
    assert out.stdout == (
        "--- app.py\n+++ app.py\n@@ -1,7 +1,6 @@\n import asyncio\n-import time\n \n \n async def handler():\n"
        "-    time.sleep(1)\n+    await asyncio.sleep(1)\n     await asyncio.sleep(0)\n"
    )
    assert out.stderr == "Would fix 1 file.\n"


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"async def f(:\n    pass\n", "app.py:1:13: ASL001 SyntaxError: invalid syntax"),
        (b"async def f():\n    x = '\xff\xfe'\n", "app.py:1:1: ASL001 cannot decode file as utf-8: invalid start byte at byte 24"),
        (
            b"\xff\xfea\x00s\x00y\x00n\x00c\x00",
            "app.py:1:1: ASL001 cannot decode file: UTF-16 (byte order mark) is not a Python source encoding; save it as UTF-8",
        ),
    ],
)
def test_bad_stdin_is_asl001_without_traceback(tmp_path: Path, data: bytes, line: str) -> None:
    out = run_bytes("--stdin-filename", "app.py", cwd=tmp_path, stdin=data)
    assert (out.returncode, out.stdout.decode(), out.stderr) == (1, f"{line}\nFound 1 error.\n", b"")
    fixing = run_bytes("--fix", "--stdin-filename", "app.py", cwd=tmp_path, stdin=data)
    assert (fixing.returncode, fixing.stdout, fixing.stderr.decode()) == (1, data, f"{line}\nFound 1 error.\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-", "app.py"], "asynclint: '-' (standard input) cannot be combined with other paths"),
        (["--stdin-filename", "x.py", "app.py"], "asynclint: --stdin-filename names standard input: give '-' or no PATH"),
        (["--add-noqa", "-"], "asynclint: --add-noqa cannot be used with standard input"),
        (["--watch", "-"], "asynclint: --watch cannot be used with standard input"),
        (["--add-noqa", "--fix", "app.py"], "asynclint: --add-noqa cannot be used with --fix"),
        (["--show-fixes", "--diff", "app.py"], "asynclint: --show-fixes cannot be used with --diff"),
        (["--exclude", "!", "app.py"], "asynclint: argument --exclude: invalid pattern '!' (Invalid git pattern: '!')"),
        (["--target-version", "3.8", "app.py"], "asynclint: argument --target-version: expected a value like 'py38' or 'py312', got '3.8'"),
    ],
)
def test_flag_combinations_that_mean_nothing_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "app.py").write_text(BLOCKING)
    out = run(*args, cwd=tmp_path, stdin=BLOCKING)
    assert (out.returncode, out.stdout, out.stderr) == (2, "", message + "\n")


def test_force_exclude_applies_to_the_stdin_filename(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.asynclint]\nextend-exclude = ['generated/']\n")
    out = run("--force-exclude", "--stdin-filename", "generated/app.py", cwd=tmp_path, stdin=BLOCKING)
    assert (out.returncode, out.stdout) == (0, "All checks passed!\n")
    fixing = run("--fix", "--force-exclude", "--stdin-filename", "generated/app.py", cwd=tmp_path, stdin=BLOCKING)
    assert (fixing.returncode, fixing.stdout) == (0, BLOCKING)
    without = run("--stdin-filename", "generated/app.py", cwd=tmp_path, stdin=BLOCKING)
    assert without.returncode == 1


# --- --show-settings and --show-files ---------------------------------------------------------


def test_show_settings_defaults(tmp_path: Path) -> None:
    from asynclint import registry
    from asynclint.config import _KEYS, Config

    out = run("--show-settings", cwd=tmp_path)
    assert (out.returncode, out.stderr) == (0, "")
    lines = out.stdout.splitlines()
    assert lines[:3] == [
        "Settings path: defaults",
        f"Project root: {tmp_path.resolve()}",
        f"Enabled rules: {', '.join(registry.enabled_codes(Config()))}",
    ]
    assert [line.split(" = ")[0] for line in lines[3:]] == list(_KEYS)  # every key, in order
    for expected in (
        'select = ["ASL"]',
        "ignore = []",
        "per-file-ignores = {}",
        'fix-style = "to-thread"',
        'target-version = "py310"',
        'test-files = ["test_*.py", "*_test.py", "conftest.py", "tests", "test", "testing"]',
        'ignore-in-tests = ["ASL2"]',
    ):
        assert expected in lines


def test_show_settings_names_the_file_and_shows_command_line_overrides(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.asynclint]\nignore = ['ASL250']\nper-file-ignores = { 'scripts/*.py' = ['ASL200'] }\n"
        "extend-exclude = ['generated/']\nextra-blocking-calls = { 'legacy.fetch' = 'legacy.afetch' }\n"
    )
    out = run(
        "--show-settings", "--extend-exclude", "vendored,old/", "--target-version", "py38", "--extend-select", "ASL102",
        cwd=tmp_path,
    )
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[0] == f"Settings path: {(tmp_path / 'pyproject.toml').resolve()}"
    assert "ASL102" in lines[2] and "ASL250" not in lines[2]
    for expected in (
        'ignore = ["ASL250"]',
        'extend-select = ["ASL102"]',
        'per-file-ignores = { "scripts/*.py" = ["ASL200"] }',
        'extend-exclude = ["generated/", "vendored", "old/"]',
        'extra-blocking-calls = { "legacy.fetch" = "legacy.afetch" }',
        'target-version = "py38"',
    ):
        assert expected in lines


def _tree(root: Path) -> None:
    for relative in (
        "pkg/a.py", "pkg/sub/b.py", "pkg/c.txt", "z.py", "generated/g.py", "vendored/v.py", "build/x.py", "ignored_x.py",
    ):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(BLOCKING)
    (root / ".gitignore").write_text("ignored_*.py\n")
    (root / "pyproject.toml").write_text("[tool.asynclint]\nextend-exclude = ['generated/']\n")


def test_show_files_lists_what_would_be_checked_sorted(tmp_path: Path) -> None:
    _tree(tmp_path)
    out = run("--show-files", cwd=tmp_path)
    assert (out.returncode, out.stdout, out.stderr) == (0, "pkg/a.py\npkg/sub/b.py\nvendored/v.py\nz.py\n", "")
    assert run("--show-files", "z.py", "pkg", cwd=tmp_path).stdout == "pkg/a.py\npkg/sub/b.py\nz.py\n"
    assert run("--show-files", "--stdin-filename", "x/app.py", cwd=tmp_path).stdout == "x/app.py\n"


# --- --exclude, --extend-exclude, --force-exclude, --target-version -------------------------------


def test_exclude_replaces_and_extend_exclude_adds(tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.asynclint]\nexclude = ['z.py']\nextend-exclude = ['generated/']\n")
    assert run("--show-files", cwd=tmp_path).stdout == "pkg/a.py\npkg/sub/b.py\nvendored/v.py\n"
    # --exclude replaces the configured exclude (z.py is back); extend-exclude still applies
    replaced = run("--show-files", "--exclude", "vendored/", cwd=tmp_path)
    assert replaced.stdout == "pkg/a.py\npkg/sub/b.py\nz.py\n"
    (tmp_path / "pyproject.toml").write_text("[tool.asynclint]\nextend-exclude = ['generated/']\n")
    added = run("--show-files", "--extend-exclude", "vendored, pkg/sub", cwd=tmp_path)
    assert added.stdout == "pkg/a.py\nz.py\n"
    repeated = run("--show-files", "--extend-exclude", "vendored", "--extend-exclude", "z.py", cwd=tmp_path)
    assert repeated.stdout == "pkg/a.py\npkg/sub/b.py\n"
    # and a real run checks exactly those files
    linted = run("--output-format", "concise", "--extend-exclude", "vendored,pkg", cwd=tmp_path)
    assert [line.split(":")[0] for line in linted.stdout.splitlines()] == ["z.py"]


def test_force_exclude_applies_excludes_to_named_paths(tmp_path: Path) -> None:
    _tree(tmp_path)
    named = ("generated/g.py", "build/x.py", "vendored", "z.py")
    assert run("--show-files", *named, cwd=tmp_path).stdout == "build/x.py\ngenerated/g.py\nvendored/v.py\nz.py\n"
    forced = run("--show-files", "--force-exclude", "--extend-exclude", "vendored", *named, cwd=tmp_path)
    assert forced.stdout == "z.py\n"
    out = run("--force-exclude", "--output-format", "concise", "generated/g.py", "build/x.py", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (0, "")


def test_target_version_overrides_the_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.asynclint]\ntarget-version = 'py312'\n")
    (tmp_path / "app.py").write_text(TWO)
    diffs = {
        version: run("--diff", "--unsafe-fixes", "--select", "ASL210", *flag, "app.py", cwd=tmp_path).stdout
        for version, flag in (("py312", ()), ("py38", ("--target-version", "py38")))
    }
    assert "+    await asyncio.to_thread(requests.get, 'https://x', timeout=5)\n" in diffs["py312"]
    assert "run_in_executor" not in diffs["py312"]
    assert "run_in_executor(" in diffs["py38"] and "to_thread" not in diffs["py38"]


# --- --quiet and --silent -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "stdout"),
    [
        ((), f"{SLEEP}\nFound 1 error (1 fixable with --fix).\n"),
        (("-q",), f"{SLEEP}\n"),
        (("--quiet",), f"{SLEEP}\n"),
        (("-qq",), ""),
        (("-s",), ""),
        (("--silent",), ""),
        (("-q", "--statistics"), "1\tASL200\t[*] blocking-sleep\n"),
        (("--silent", "--statistics"), "1\tASL200\t[*] blocking-sleep\n"),  # as ruff: the table still prints
    ],
)
def test_quiet_prints_findings_only_and_silent_nothing(tmp_path: Path, flags: tuple[str, ...], stdout: str) -> None:
    (tmp_path / "app.py").write_text(BLOCKING)
    out = run(*flags, "app.py", cwd=tmp_path)
    assert (out.returncode, out.stdout, out.stderr) == (1, stdout, "")


def test_quiet_on_clean_code_fixes_and_diffs(tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text(CLEAN)
    assert run("-q", "clean.py", cwd=tmp_path).stdout == ""
    (tmp_path / "app.py").write_text(BLOCKING)
    diff = run("-q", "--diff", "app.py", cwd=tmp_path)
    assert (diff.returncode, diff.stderr) == (1, "") and diff.stdout.startswith("--- app.py\n")
    silent_diff = run("--silent", "--diff", "app.py", cwd=tmp_path)
    assert (silent_diff.stdout, silent_diff.stderr) == (diff.stdout, "")  # as ruff: --diff prints its diff
    fixed = run("-q", "--fix", "app.py", cwd=tmp_path)
    assert (fixed.returncode, fixed.stdout, fixed.stderr) == (0, "", "")
    assert (tmp_path / "app.py").read_text() == FIXED
    json_out = run("-q", "--output-format", "json", "clean.py", cwd=tmp_path)
    assert json_out.stdout == "[]\n"


def test_quiet_leaves_the_summaries_out_of_the_terminal_view_too(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(BLOCKING)
    ansi = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;[^\x1b]*\x1b\\")
    full = ansi.sub("", run("--color", "always", "app.py", cwd=tmp_path).stdout)
    quiet = ansi.sub("", run("--color", "always", "-q", "app.py", cwd=tmp_path).stdout)
    assert "Findings by rule:" in full and full.endswith("Found 1 error (1 fixable with --fix).\n")
    assert quiet == full[: full.index("Findings by rule:")]
    assert quiet.startswith(SLEEP)


def test_silent_hides_errors_but_the_exit_code_tells(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    loud = run("-q", "pipe.py", cwd=tmp_path)
    assert (loud.returncode, loud.stderr) == (2, "asynclint: pipe.py: not a regular file (a named pipe)\n")
    quiet = run("--silent", "pipe.py", cwd=tmp_path)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (2, "", "")


# --- --output-file ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "concise", "json", "github", "sarif"])
def test_output_file_receives_the_report_instead_of_stdout(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "app.py").write_text(BLOCKING)
    expected = run("--output-format", fmt, "app.py", cwd=tmp_path)
    out = run("--output-format", fmt, "--output-file", "reports/asynclint.out", "app.py", cwd=tmp_path)
    assert (out.returncode, out.stdout, out.stderr) == (1, "", "")
    assert (tmp_path / "reports" / "asynclint.out").read_text(encoding="utf-8") == expected.stdout


def test_output_file_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(BLOCKING)
    (tmp_path / "taken").mkdir()
    out = run("-o", "taken", "app.py", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr == "asynclint: taken: cannot write: Is a directory\n"


def test_output_file_with_stdin_fix_keeps_the_fixed_text_on_stdout(tmp_path: Path) -> None:
    out = run("--fix", "-o", "report.txt", "--stdin-filename", "app.py", cwd=tmp_path, stdin=BLOCKING)
    assert (out.returncode, out.stdout, out.stderr) == (0, FIXED, "")
    assert (tmp_path / "report.txt").read_text() == "Fixed 1 error. Found 0 remaining errors.\n"


# --- --add-noqa ---------------------------------------------------------------------------------

NOQA_BEFORE = (
    "import asyncio\n"
    "import time\n"
    "\n"
    "import requests\n"
    "\n"
    "\n"
    "async def handler():\n"
    "    time.sleep(1)\n"
    "    requests.get('https://x', timeout=5)  # noqa: ASL200\n"
    "    time.sleep(2)  # keep it short\n"
    "    time.sleep(len('''\n"
    "    # not a comment\n"
    "    '''))\n"
    "    x = f'''\n"
    "    {time.sleep(3)}\n"
    "    '''\n"
    "    y = time.sleep(4) + \\\n"
    "        0\n"
    "    time.sleep(5)  # noqa: ASL210 (legacy)\n"
    "    await asyncio.sleep(0)\n"
    "    return x, y\n"
)
NOQA_AFTER = (
    "import asyncio\n"
    "import time\n"
    "\n"
    "import requests\n"
    "\n"
    "\n"
    "async def handler():\n"
    "    time.sleep(1)  # noqa: ASL200\n"
    "    requests.get('https://x', timeout=5)  # noqa: ASL200, ASL210\n"
    "    time.sleep(2)  # keep it short  # noqa: ASL200\n"
    "    time.sleep(len('''\n"
    "    # not a comment\n"
    "    '''))  # noqa: ASL200\n"
    "    x = f'''\n"
    "    {time.sleep(3)}\n"
    "    '''  # noqa: ASL200\n"
    "    y = time.sleep(4) + \\\n"
    "        0  # noqa: ASL200\n"
    "    time.sleep(5)  # noqa: ASL200, ASL210 (legacy)\n"
    "    await asyncio.sleep(0)\n"
    "    return x, y\n"
)


def test_add_noqa_comments_every_finding_line_once(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(NOQA_BEFORE)
    before = run("--output-format", "concise", "app.py", cwd=tmp_path)
    assert [line.split(": ")[0] + ": " + line.split(": ")[1].split()[0] for line in before.stdout.splitlines()] == [
        "app.py:8:5: ASL200",
        "app.py:9:5: ASL210",
        "app.py:10:5: ASL200",
        "app.py:11:5: ASL200",
        "app.py:15:6: ASL200",
        "app.py:17:9: ASL200",
        "app.py:19:5: ASL200",
    ]
    out = run("--add-noqa", "app.py", cwd=tmp_path)
    assert (out.returncode, out.stdout, out.stderr) == (0, "", "Added 7 noqa directives.\n")
    assert app.read_text() == NOQA_AFTER
    compile(app.read_bytes(), "app.py", "exec")
    again = run("--add-noqa", "app.py", cwd=tmp_path)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    assert app.read_text() == NOQA_AFTER
    assert run("app.py", cwd=tmp_path).stdout == "All checks passed!\n"


def test_add_noqa_keeps_bytes_line_endings_and_walks_folders(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    crlf = tmp_path / "pkg" / "a.py"
    crlf.write_bytes(b"\xef\xbb\xbf" + BLOCKING.replace("\n", "\r\n").replace("sleep(1)", "sleep(1)   ").encode())
    (tmp_path / "pkg" / "b.py").write_text(BLOCKING)
    (tmp_path / "pkg" / "clean.py").write_text(CLEAN)
    out = run("--add-noqa", "-q", ".", cwd=tmp_path)
    assert (out.returncode, out.stderr) == (0, "")  # -q: not even the count
    assert crlf.read_bytes() == b"\xef\xbb\xbf" + BLOCKING.replace("\n", "\r\n").replace(
        "sleep(1)", "sleep(1)  # noqa: ASL200"
    ).encode()
    assert (tmp_path / "pkg" / "b.py").read_text() == BLOCKING.replace("sleep(1)", "sleep(1)  # noqa: ASL200")
    assert (tmp_path / "pkg" / "clean.py").read_text() == CLEAN
    single = tmp_path / "one.py"
    single.write_text(BLOCKING)
    assert run("--add-noqa", "one.py", cwd=tmp_path).stderr == "Added 1 noqa directive.\n"


# --- --show-fixes -------------------------------------------------------------------------------


def test_show_fixes_lists_available_fixes_per_file(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(TWO)
    out = run("--show-fixes", "app.py", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stdout == (
        f"{SLEEP.replace(':6:', ':8:')}\n{HTTP}\n"
        "\n"
        "1 fixable with --fix:\n"
        "- app.py:\n"
        "    1 × ASL200 (blocking-sleep)\n"
        "\n"
        "1 more with --fix --unsafe-fixes:\n"
        "- app.py:\n"
        "    1 × ASL210 (blocking-http)\n"
        "\n"
        "Found 2 errors (1 fixable with --fix; 1 more with --fix --unsafe-fixes).\n"
    )
    unsafe = run("--show-fixes", "--unsafe-fixes", "--output-format", "concise", "app.py", cwd=tmp_path)
    assert unsafe.stdout.split("\n\n")[1] == (
        "2 fixable with --fix --unsafe-fixes:\n- app.py:\n    1 × ASL200 (blocking-sleep)\n    1 × ASL210 (blocking-http)\n"
    )


def test_show_fixes_after_fix_lists_what_was_fixed(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(TWO)
    (tmp_path / "b.py").write_text(BLOCKING + "\n\nasync def other():\n    time.sleep(2)\n")
    (tmp_path / "clean.py").write_text(CLEAN)
    out = run("--fix", "--show-fixes", "app.py", "b.py", "clean.py", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stdout == (
        f"{HTTP.replace(':9:', ':8:')}\n"
        "\n"
        "Fixed 3 errors:\n"
        "- app.py:\n"
        "    1 × ASL200 (blocking-sleep)\n"
        "- b.py:\n"
        "    2 × ASL200 (blocking-sleep)\n"
        "\n"
        "Fixed 3 errors. Found 1 remaining error (1 more with --fix --unsafe-fixes).\n"
    )
    nothing = run("--fix", "--show-fixes", "clean.py", cwd=tmp_path)
    assert nothing.stdout == "All checks passed!\n"
    piped = run("--fix", "--show-fixes", "--stdin-filename", "app.py", cwd=tmp_path, stdin=BLOCKING)
    assert (piped.stdout, piped.stderr) == (
        FIXED,
        "Fixed 1 error:\n- app.py:\n    1 × ASL200 (blocking-sleep)\n\nFixed 1 error. Found 0 remaining errors.\n",
    )


# --- --help -------------------------------------------------------------------------------------


def test_every_new_flag_has_help_text(tmp_path: Path) -> None:
    out = run("--help", cwd=tmp_path)
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    for flag, words in (
        ("--stdin-filename PATH", "check standard input"),
        ("--show-settings", "print the resolved configuration"),
        ("--show-files", "print the files that would be checked"),
        ("--show-fixes", "after the report, list per file and rule the fixes"),
        ("-q, --quiet", "print the findings only"),
        ("-s, --silent", "print nothing"),
        ("-o PATH, --output-file PATH", "write the report to PATH"),
        ("--exclude PATTERNS", "replaces the configured 'exclude'"),
        ("--extend-exclude PATTERNS", "in addition to the configured ones"),
        ("--force-exclude", "named on the command line"),
        ("--target-version pyXY", "overrides 'target-version'"),
        ("--add-noqa", "add '# noqa: CODE'"),
        ("-w, --watch", "check again whenever a checked file changes"),
    ):
        at = text.find(f" {flag} ")
        assert at >= 0 and words in text[at : at + 250], flag


# --- --watch ------------------------------------------------------------------------------------


class _Lines:
    """A subprocess's stdout read line by line on a thread, so that a test can wait with a timeout."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        assert proc.stdout is not None
        stream = proc.stdout

        def pump() -> None:
            for line in stream:
                self.queue.put(line.rstrip("\n"))
            self.queue.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def until(self, predicate: str, timeout: float = 60) -> list[str]:
        """The lines read up to and including the first that starts with ``predicate``."""
        got: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no line starting with {predicate!r} in time; got {self.seen + got}") from None
            if line is None:
                raise AssertionError(f"output ended before {predicate!r}; got {self.seen + got}")
            got.append(line)
            if line.startswith(predicate):
                self.seen.extend(got)
                return got


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _watcher(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "asynclint", "--watch", "--no-cache", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(None),
        # a suite started in the background (``cmd &`` in a script, as CI may do) inherits SIGINT
        # ignored, and a Python started with SIGINT ignored never raises KeyboardInterrupt: the
        # watcher gets a terminal's default, as in tests/test_parallel.py
        preexec_fn=_default_sigint,
    )


STAMP = r"\[\d\d:\d\d:\d\d\] "


def test_watch_checks_again_when_a_file_changes_and_ctrl_c_exits_cleanly(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(CLEAN)
    proc = _watcher(tmp_path, ".")
    try:
        lines = _Lines(proc)
        first = lines.until("All checks passed!")
        assert len(first) == 2 and re.fullmatch(STAMP + r"Starting linter in watch mode\.\.\.", first[0])
        (tmp_path / "app.py").write_text(BLOCKING)
        second = lines.until("Found ")
        assert re.fullmatch(STAMP + r"File change detected\.\.\.", second[0])
        assert second[1:] == [SLEEP, "Found 1 error (1 fixable with --fix)."]
        (tmp_path / "new.py").write_text(BLOCKING)  # a new file counts too
        third = lines.until("Found ")
        assert third[1:] == [SLEEP, SLEEP.replace("app.py", "new.py"), "Found 2 errors (2 fixable with --fix)."]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
        assert proc.stderr is not None
        assert proc.stderr.read() == ""
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


def test_watch_quiet_and_terminate(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(BLOCKING)
    proc = _watcher(tmp_path, "-q", "app.py")
    try:
        lines = _Lines(proc)
        assert lines.until(SLEEP) == [SLEEP]  # -q: no banner, no summary
        (tmp_path / "app.py").write_text(BLOCKING.replace("sleep(1)", "sleep(10)"))
        assert lines.until("app.py") == [SLEEP]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGTERM
