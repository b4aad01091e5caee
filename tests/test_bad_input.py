"""Bad input, run through the CLI as a subprocess: one line naming the file, a non-zero exit, never a
traceback, and the other files still checked."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BLOCKING = "import time\n\n\nasync def handler():\n    time.sleep(1)\n"
FINDING = "5:5: ASL200 [*] `time.sleep(...)` blocks the event loop; use `await asyncio.sleep(...)`"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "ASYNCLINT_OUTPUT_FORMAT"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "asynclint", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=full_env,
        timeout=timeout,
    )


def no_traceback(out: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in out.stderr + out.stdout


# --- 1. symbolic link loops ------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="POSIX symlinks")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_symlink_loops_in_a_folder_are_one_line_each_and_the_rest_is_linted(tmp_path: Path, jobs: str) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text(BLOCKING)
    (pkg / "z.py").write_text(BLOCKING)
    os.symlink(".", pkg / "loop")  # a folder that contains itself: not followed
    os.symlink("m2.py", pkg / "m1.py")  # two links pointing at each other
    os.symlink("m1.py", pkg / "m2.py")
    out = run("-j", jobs, "pkg", cwd=tmp_path)
    loop = os.strerror(errno.ELOOP)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [f"asynclint: pkg/m1.py: {loop}", f"asynclint: pkg/m2.py: {loop}"]
    assert out.stdout.splitlines() == [
        f"pkg/a.py:{FINDING}",
        f"pkg/z.py:{FINDING}",
        "Found 2 errors (2 fixable with --fix). 2 files could not be checked.",
    ]
    no_traceback(out)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX symlinks")
def test_symlink_loop_named_on_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(BLOCKING)
    os.symlink("loop.py", tmp_path / "loop.py")
    out = run("loop.py", "a.py", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [f"asynclint: loop.py: {os.strerror(errno.ELOOP)}"]
    assert out.stdout.splitlines()[0] == f"a.py:{FINDING}"
    no_traceback(out)


def test_invalid_gitignore_line_is_skipped_like_git_does(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("!\nignored.py\n")
    (tmp_path / "ignored.py").write_text(BLOCKING)
    (tmp_path / "a.py").write_text(BLOCKING)
    out = run(".", cwd=tmp_path)
    assert (out.returncode, out.stderr) == (1, "")
    assert out.stdout.splitlines()[0] == f"a.py:{FINDING}"


# --- 2. malformed configuration --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("select = 3", "select: expected a list of strings, got the number 3"),
        ("select = [1]", "select: expected a list of strings, got the number 1 in the list"),
        ("select = [['ASL']]", "select: expected a list of strings, got an array in the list"),
        ("select = { ASL = 1 }", "select: expected a list of strings, got a table"),
        ("ignore = [true]", "ignore: expected a list of strings, got the boolean true in the list"),
        ("select = ['ZZZ']", "select: unknown rule code or prefix 'ZZZ'"),
        ('per-file-ignores = { "x" = 3 }', "per-file-ignores: 'x': expected a list of strings, got the number 3"),
        ('per-file-ignores = { "x" = [1] }', "per-file-ignores: 'x': expected a list of strings, got the number 1 in the list"),
        ('per-file-ignores = { "x" = { a = 1 } }', "per-file-ignores: 'x': expected a list of strings, got a table"),
        ('per-file-ignores = { "x" = ["ZZZ"] }', "per-file-ignores: unknown rule code or prefix 'ZZZ'"),
        ('per-file-ignores = "x"', "per-file-ignores: expected a table, got the string 'x'"),
        ('extra-blocking-calls = ["a"]', "extra-blocking-calls: expected a table, got an array"),
        ("extra-blocking-calls = { a = { b = 1 } }", "extra-blocking-calls: expected a table of strings, got a table for 'a'"),
        ('target-version = "py3"', "target-version: expected a value like 'py38' or 'py312', got 'py3'"),
        ("target-version = 310", "target-version: expected a string, got the number 310"),
        ("fix-style = 1", "fix-style: expected a string, got the number 1"),
        ('fix-style = "threads"', "fix-style must be one of to-thread, run-in-executor, got 'threads'"),
        ('exclude = ["!"]', "exclude: invalid pattern '!' (Invalid git pattern: '!')"),
        ("lock-names = [{ a = 1 }]", "lock-names: expected a list of strings, got a table in the list"),
    ],
)
def test_malformed_config_value_is_one_line_naming_file_and_key(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.asynclint]\n{toml}\n")
    (tmp_path / "a.py").write_text(BLOCKING)
    out = run("a.py", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == f"asynclint: {tmp_path / 'pyproject.toml'}: {message}\n"


@pytest.mark.parametrize("toml", ["tool = 3", 'tool = "asynclint"', 'tool = ["asynclint"]'])
def test_tool_that_is_not_a_table(tmp_path: Path, toml: str) -> None:
    (tmp_path / "pyproject.toml").write_text(toml + "\n")
    (tmp_path / "a.py").write_text(BLOCKING)
    out = run("a.py", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.startswith(f"asynclint: {tmp_path / 'pyproject.toml'}: [tool] must be a table, got ")
    assert len(out.stderr.splitlines()) == 1


# --- 3. file names that are not UTF-8, output streams that are ASCII only -----------------------


def _bytes_named_file(folder: Path) -> None:
    if sys.platform in ("win32", "darwin"):
        pytest.skip("the file system only takes Unicode names")
    try:
        fd = os.open(os.path.join(os.fsencode(folder), b"caf\xe9.py"), os.O_WRONLY | os.O_CREAT, 0o644)
    except OSError as exc:
        pytest.skip(f"cannot create a non-UTF-8 file name here: {exc}")
    os.write(fd, BLOCKING.encode())
    os.close(fd)


def test_non_utf8_file_name_in_text_output(tmp_path: Path) -> None:
    _bytes_named_file(tmp_path)
    out = run(".", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stdout.splitlines() == [f"caf\\xe9.py:{FINDING}", "Found 1 error (1 fixable with --fix)."]
    assert out.stderr == ""


def test_non_utf8_file_name_in_json_output(tmp_path: Path) -> None:
    _bytes_named_file(tmp_path)
    out = run("--output-format", "json", ".", cwd=tmp_path)
    assert (out.returncode, out.stderr) == (1, "")
    findings = json.loads(out.stdout)
    assert [(f["path"], f["code"]) for f in findings] == [("caf\\xe9.py", "ASL200")]


def test_non_utf8_file_name_in_sarif_output(tmp_path: Path) -> None:
    _bytes_named_file(tmp_path)
    out = run("--output-format", "sarif", ".", cwd=tmp_path)
    assert (out.returncode, out.stderr) == (1, "")
    results = json.loads(out.stdout)["runs"][0]["results"]
    # the URI percent-encodes the name's real bytes
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results] == ["caf%E9.py"]


def test_non_utf8_file_name_in_github_output_and_error_lines(tmp_path: Path) -> None:
    _bytes_named_file(tmp_path)
    os.mkfifo(os.path.join(os.fsencode(tmp_path), b"pipe\xff.py"))
    out = run("--output-format", "github", "caf\udce9.py", "pipe\udcff.py", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stdout.startswith("::error file=caf\\xe9.py,line=5,col=5,")
    assert out.stderr == "asynclint: pipe\\xff.py: not a regular file (a named pipe)\n"


ASCII_ENVS = [{"PYTHONIOENCODING": "ascii"}, {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}]


@pytest.mark.parametrize("env", ASCII_ENVS, ids=["PYTHONIOENCODING=ascii", "LC_ALL=C"])
def test_ascii_stdout_with_non_ascii_file_name_text(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "café.py").write_text(BLOCKING)
    out = run("café.py", cwd=tmp_path, env=env)
    assert out.returncode == 1
    assert out.stdout.splitlines() == [f"caf\\xe9.py:{FINDING}", "Found 1 error (1 fixable with --fix)."]
    no_traceback(out)


@pytest.mark.parametrize("env", ASCII_ENVS, ids=["PYTHONIOENCODING=ascii", "LC_ALL=C"])
@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_ascii_stdout_with_non_ascii_file_name_json_and_sarif(tmp_path: Path, env: dict[str, str], fmt: str) -> None:
    (tmp_path / "café.py").write_text(BLOCKING)
    out = run("--output-format", fmt, "café.py", cwd=tmp_path, env=env)
    assert out.returncode == 1
    no_traceback(out)
    assert out.stdout.isascii()
    document = json.loads(out.stdout)  # valid JSON: \u escapes, not backslashreplace
    if fmt == "json":
        assert [f["path"] for f in document] == ["café.py"]
    else:
        uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in document["runs"][0]["results"]]
        assert uris == ["caf%C3%A9.py"]


def test_ascii_stderr_with_non_ascii_error_line(tmp_path: Path) -> None:
    out = run("missing-é.py", cwd=tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == "asynclint: missing-\\xe9.py: no such file or directory\n"


# --- 4. files that cannot be read or decoded ---------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (BLOCKING.encode("utf-16"), "1:1: ASL001 cannot decode file: UTF-16 (byte order mark) is not a Python source encoding; save it as UTF-8"),
        (b"x = '\xe9t\xe9'\n", "1:1: ASL001 cannot decode file as utf-8: invalid continuation byte at byte 5"),
        (b"# -*- coding: utf-8 -*-\nx = '\xff'\n", "1:1: ASL001 cannot decode file as utf-8: invalid start byte at byte 29"),
        (bytes(range(256)), "1:1: ASL001 cannot decode file as utf-8: invalid start byte at byte 128"),
        (b"# -*- coding: klingon -*-\nx = 1\n", "1:1: ASL001 cannot decode file: unknown encoding: klingon"),
        (b"x = 1\n\0\n", "2:1: ASL001 SyntaxError: source code cannot contain null bytes"),
    ],
    ids=["utf-16", "latin-1", "bad-utf-8", "binary", "unknown-cookie", "null-byte"],
)
def test_undecodable_file_without_async_markers_is_asl001(tmp_path: Path, data: bytes, message: str) -> None:
    (tmp_path / "bad.py").write_bytes(data)
    (tmp_path / "good.py").write_text(BLOCKING)
    named = run("bad.py", "good.py", cwd=tmp_path)
    walked = run(".", cwd=tmp_path)  # found by walking a folder: the same
    for out in (named, walked):
        assert out.returncode == 1
        assert out.stdout.splitlines() == [f"bad.py:{message}", f"good.py:{FINDING}", "Found 2 errors (1 fixable with --fix)."]
        assert out.stderr == ""


def test_asl001_can_be_ignored_for_undecodable_files(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_bytes(bytes(range(256)))
    out = run("--ignore", "ASL001", "bad.py", cwd=tmp_path)
    assert (out.returncode, out.stdout, out.stderr) == (0, "All checks passed!\n", "")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_fifo_named_on_the_command_line_does_not_block(tmp_path: Path, jobs: str) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "a.py").write_text(BLOCKING)
    (tmp_path / "b.py").write_text(BLOCKING)
    out = run("-j", jobs, "pipe.py", "a.py", "b.py", cwd=tmp_path, timeout=60)
    assert out.returncode == 2
    assert out.stderr == "asynclint: pipe.py: not a regular file (a named pipe)\n"
    assert out.stdout.splitlines() == [
        f"a.py:{FINDING}",
        f"b.py:{FINDING}",
        "Found 2 errors (2 fixable with --fix). 1 file could not be checked.",
    ]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_fifo_found_by_walking_is_skipped(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "a.py").write_text(BLOCKING)
    out = run(".", cwd=tmp_path, timeout=60)
    assert (out.returncode, out.stderr) == (1, "")
    assert out.stdout.splitlines()[0] == f"a.py:{FINDING}"


def test_unreadable_file_keeps_the_summary_honest(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    out = run("sub/", cwd=tmp_path)  # an empty folder: nothing to check, nothing wrong
    assert (out.returncode, out.stdout) == (0, "All checks passed!\n")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.py")
        out = run("pipe.py", cwd=tmp_path, timeout=60)
        assert (out.returncode, out.stdout) == (2, "No errors in the files checked. 1 file could not be checked.\n")


# --- 5. code libcst parses and CPython rejects --------------------------------------------------------


def test_nonlocal_at_module_level_is_asl001(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("nonlocal x\n\n\nasync def f():\n    pass\n")
    (tmp_path / "good.py").write_text(BLOCKING)
    out = run("bad.py", "good.py", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stdout.splitlines() == [
        "bad.py:1:1: ASL001 SyntaxError: nonlocal declaration not allowed at module level",
        f"good.py:{FINDING}",
        "Found 2 errors (1 fixable with --fix).",
    ]
    assert out.stderr == ""


# --- 6. valid Python libcst's parser refuses ----------------------------------------------------------


@pytest.mark.parametrize("target", ["(x): int = 1", "( x ) : int", "((x)): int = 1", "(x.y): int = 2", "(x[0]): int"])
def test_parenthesized_annotated_target_is_linted(tmp_path: Path, target: str) -> None:
    (tmp_path / "a.py").write_text(f"import time\n\n\nasync def handler():\n    time.sleep(1)\n    {target}\n")
    out = run("a.py", cwd=tmp_path)
    assert out.stdout.splitlines() == [f"a.py:{FINDING}", "Found 1 error (1 fixable with --fix)."]
    assert (out.returncode, out.stderr) == (1, "")


def test_parenthesized_annotated_target_is_fixed(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import time\n\n\nasync def handler():\n    (x): int = 1\n    time.sleep(x)\n")
    out = run("--fix", "a.py", cwd=tmp_path)
    assert (out.returncode, out.stdout, out.stderr) == (0, "Fixed 1 error. Found 0 remaining errors.\n", "")
    fixed = (tmp_path / "a.py").read_text()
    assert fixed == "import asyncio\n\n\nasync def handler():\n    (x): int = 1\n    await asyncio.sleep(x)\n"
    compile(fixed, "a.py", "exec")


# --- 7. deep nesting and long concatenations -------------------------------------------------------


@pytest.mark.parametrize("minus", [12_000, 25_000])
def test_deeply_nested_expression_is_one_line_and_never_a_crash(tmp_path: Path, minus: int) -> None:
    (tmp_path / "deep.py").write_text(BLOCKING + "x = " + "-" * minus + "1\n")
    (tmp_path / "good.py").write_text(BLOCKING)
    out = run("deep.py", "good.py", cwd=tmp_path, timeout=60)
    assert out.returncode == 2  # not 139 (SIGSEGV)
    assert out.stderr == "asynclint: deep.py: nested too deeply to check (more than 1000 levels)\n"
    assert out.stdout.splitlines() == [f"good.py:{FINDING}", "Found 1 error (1 fixable with --fix). 1 file could not be checked."]


@pytest.mark.parametrize("mode", ["--fix", "--diff"])
def test_deeply_nested_expression_with_fix_and_diff(tmp_path: Path, mode: str) -> None:
    source = BLOCKING + "x = " + "-" * 25_000 + "1\n"
    (tmp_path / "deep.py").write_text(source)
    out = run(mode, "deep.py", cwd=tmp_path, timeout=60)
    assert out.returncode == 2
    assert out.stderr == "asynclint: deep.py: nested too deeply to check (more than 1000 levels)\n"
    assert (tmp_path / "deep.py").read_text() == source


def test_nesting_below_the_limit_is_linted(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(BLOCKING + "x = " + "-" * 900 + "1\n")
    out = run("a.py", cwd=tmp_path, timeout=60)
    assert (out.returncode, out.stderr) == (1, "")
    assert out.stdout.splitlines() == [f"a.py:{FINDING}", "Found 1 error (1 fixable with --fix)."]


def test_nesting_above_the_limit_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(BLOCKING + "x = " + "-" * 1500 + "1\n")
    out = run("a.py", cwd=tmp_path, timeout=60)
    assert (out.returncode, out.stdout) == (2, "No errors in the files checked. 1 file could not be checked.\n")
    assert out.stderr == "asynclint: a.py: nested too deeply to check (more than 1000 levels at line 6)\n"


def test_deep_nesting_after_a_syntax_error_is_asl001_and_never_a_crash(tmp_path: Path) -> None:
    # CPython stops at line 1: the deep line is never measured by its parser
    (tmp_path / "a.py").write_text("async def f(:\n    pass\nx = " + "-" * 25_000 + "1\n")
    out = run("a.py", cwd=tmp_path, timeout=60)
    assert out.returncode == 1
    assert out.stdout.splitlines()[0] == "a.py:1:13: ASL001 SyntaxError: invalid syntax"
    no_traceback(out)


def test_too_many_nested_parentheses_is_asl001(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(BLOCKING + "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n")
    out = run("a.py", cwd=tmp_path, timeout=60)
    assert out.returncode == 1
    assert out.stdout.splitlines()[0].startswith("a.py:6:")
    assert out.stdout.splitlines()[0].endswith(" ASL001 SyntaxError: too many nested parentheses")


@pytest.mark.parametrize("layout", ["lines", "one-line", "backslashes", "crlf-indented"])
def test_3001_concatenated_literals_lint_normally(tmp_path: Path, layout: str) -> None:
    literals = [f'"s{i}"' if i % 3 else f"f'{{i}}{i}'" for i in range(3001)]
    if layout == "lines":
        value = "(\n" + "".join(f"    {s}  # {i}\n" for i, s in enumerate(literals)) + ")"
    elif layout == "one-line":
        value = " ".join(literals)
    else:
        value = " \\\n    ".join(literals)
    source = f"x = {value}\n" + BLOCKING
    if layout == "crlf-indented":
        source = BLOCKING + "\n\nasync def other():\n    y = (\n" + "".join(f"        {s}\n" for s in literals) + "    )\n"
        source = source.replace("\n", "\r\n")
    (tmp_path / "a.py").write_bytes(source.encode())
    out = run("a.py", cwd=tmp_path, timeout=120)
    line = source.count("\n", 0, source.index("time.sleep")) + 1
    assert (out.returncode, out.stderr) == (1, "")
    assert out.stdout.splitlines() == [f"a.py:{line}:5: {FINDING.split(': ', 1)[1]}", "Found 1 error (1 fixable with --fix)."]


def test_3001_concatenated_literals_are_fixed(tmp_path: Path) -> None:
    value = "(" + " ".join(f'"s{i}"' for i in range(3001)) + ")"
    source = BLOCKING + f"x = {value}\n"
    (tmp_path / "a.py").write_text(source)
    out = run("--fix", "a.py", cwd=tmp_path, timeout=120)
    assert (out.returncode, out.stdout, out.stderr) == (0, "Fixed 1 error. Found 0 remaining errors.\n", "")
    fixed = (tmp_path / "a.py").read_text()
    assert fixed == source.replace("import time", "import asyncio").replace("time.sleep", "await asyncio.sleep")
    namespace: dict[str, object] = {}
    exec(compile(fixed, "a.py", "exec"), namespace)
    assert namespace["x"] == "".join(f"s{i}" for i in range(3001))


def test_too_many_concatenated_literals_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(BLOCKING + "x = (" + " ".join('"a"' for _ in range(6000)) + ")\n")
    out = run("a.py", cwd=tmp_path, timeout=120)
    assert (out.returncode, out.stdout) == (2, "No errors in the files checked. 1 file could not be checked.\n")
    assert out.stderr == (
        "asynclint: a.py: more than 5000 implicitly concatenated string literals at line 6; file not checked\n"
    )


# --- syntax errors on lines that are not ASCII: columns in characters ------------------------------


@pytest.mark.parametrize(
    ("text", "col"),
    [
        # CPython compiling bytes gives this parser error's offset in UTF-8 bytes (13)
        ("x = '\U0001d11e' +\n", 10),
        ("x = 'é' $ 2\n", 9),
        # a tokenizer error: CPython gives characters already
        ("s = 'é\n", 5),
        # the same with an async marker, so the file goes the way the rules' files go
        ("async def f():\n    x = 'é' $ 2\n", 13),
    ],
)
def test_syntax_error_column_counts_characters(tmp_path: Path, text: str, col: int) -> None:
    (tmp_path / "bad.py").write_text(text, encoding="utf-8")
    out = run("--no-cache", "--output-format", "json", "bad.py", cwd=tmp_path)
    found = json.loads(out.stdout)
    assert [(f["code"], f["column"]) for f in found] == [("ASL001", col)]
    no_traceback(out)
