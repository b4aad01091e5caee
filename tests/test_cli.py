"""The CLI, run as a subprocess: output format, exit codes, usage and configuration errors, bad files."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BLOCKING = "import asyncio\nimport time\n\n\nasync def handler():\n    time.sleep(1)\n    await asyncio.sleep(0)\n"
CLEAN = "import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if k != "ASYNCLINT_OUTPUT_FORMAT"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "asynclint", *args], cwd=cwd, capture_output=True, text=True, env=full_env, timeout=120
    )


def test_finding_line_format_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(BLOCKING)
    out = run("app.py", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stdout.splitlines() == [
        "app.py:6:5: ASL200 [*] `time.sleep(...)` blocks the event loop; use `await asyncio.sleep(...)`",
        "Found 1 error (1 fixable with --fix).",
    ]
    assert out.stderr == ""


def test_clean_exit_0(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(CLEAN)
    out = run("app.py", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (0, "All checks passed!\n")


def test_default_path_is_current_folder_and_walk_skips(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text(BLOCKING)
    for skipped in (".git", "build", "dist", "__pycache__", "node_modules", ".tox", "generated"):
        (tmp_path / skipped).mkdir(exist_ok=True)
        (tmp_path / skipped / "b.py").write_text(BLOCKING)
    venv = tmp_path / "myenv"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr\n")
    (venv / "c.py").write_text(BLOCKING)
    (tmp_path / ".gitignore").write_text("generated/\nignored_*.py\n")
    (tmp_path / "ignored_x.py").write_text(BLOCKING)
    out = run(cwd=tmp_path)
    assert out.returncode == 1
    assert [line.split(":")[0] for line in out.stdout.splitlines()[:-1]] == ["pkg/a.py"]


def test_file_named_directly_is_linted_even_if_ignored(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("ignored_*.py\n")
    (tmp_path / "ignored_x.py").write_text(BLOCKING)
    assert run("ignored_x.py", cwd=tmp_path).returncode == 1


def test_syntax_error_is_asl001_and_other_files_are_checked(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("async def f(:\n    pass\n")
    (tmp_path / "good.py").write_text(BLOCKING)
    out = run(".", cwd=tmp_path)
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert lines[0] == "bad.py:1:13: ASL001 SyntaxError: invalid syntax"
    assert lines[1].startswith("good.py:6:5: ASL200 ")
    assert "Traceback" not in out.stderr + out.stdout


def test_undecodable_file_is_asl001(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_bytes(b"# -*- coding: utf-8 -*-\nasync def f():\n    x = '\xff\xfe'\n")
    out = run("bad.py", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stdout.splitlines()[0].startswith("bad.py:1:1: ASL001 cannot decode file")
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--select", "ASL9"], "asynclint: select: unknown rule code or prefix 'ASL9'"),
        (["--ignore", "XYZ1"], "asynclint: ignore: unknown rule code or prefix 'XYZ1'"),
        (["--bogus"], "asynclint: unrecognized arguments: --bogus"),
        (["missing_dir"], "asynclint: missing_dir: no such file or directory"),
        (["rule", "ASL999"], "asynclint: unknown rule 'ASL999' (see 'asynclint rules')"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "app.py").write_text(BLOCKING)
    out = run(*args, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [message]
    assert out.stdout == ""


def test_unknown_config_key_exit_2(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.asynclint]\nselct = ['ASL2']\n")
    (tmp_path / "app.py").write_text(BLOCKING)
    out = run("app.py", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        f"asynclint: {tmp_path / 'pyproject.toml'}: unknown key 'selct' in [tool.asynclint] (did you mean 'select'?)"
    ]


def test_invalid_toml_exit_2(tmp_path: Path) -> None:
    (tmp_path / "asynclint.toml").write_text("select = [\n")
    (tmp_path / "app.py").write_text(BLOCKING)
    out = run("app.py", cwd=tmp_path)
    assert out.returncode == 2
    assert len(out.stderr.splitlines()) == 1 and "invalid TOML" in out.stderr


def test_select_ignore_and_exit_zero(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(BLOCKING)
    assert run("--ignore", "ASL200", "app.py", cwd=tmp_path).stdout == "All checks passed!\n"
    assert run("--select", "ASL21", "app.py", cwd=tmp_path).returncode == 0
    assert run("--select", "ASL21", "--extend-select", "ASL20", "app.py", cwd=tmp_path).returncode == 1
    assert run("--select", "ASL2", "--ignore", "ASL200", "app.py", cwd=tmp_path).returncode == 0
    assert run("--select", "ASL200", "--ignore", "ASL2", "app.py", cwd=tmp_path).returncode == 1  # longer prefix wins
    out = run("--exit-zero", "app.py", cwd=tmp_path)
    assert out.returncode == 0 and "ASL200" in out.stdout


def test_config_file_select_and_per_file_ignores(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.asynclint]\nselect = ['ASL2']\nper-file-ignores = { 'legacy/*.py' = ['ASL200'] }\nextend-exclude = ['vendored']\n"
    )
    for folder in ("legacy", "src", "vendored"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "app.py").write_text(BLOCKING)
    out = run(cwd=tmp_path)
    assert [line.split(":")[0] for line in out.stdout.splitlines()[:-1]] == ["src/app.py"]


def test_explicit_config_option(tmp_path: Path) -> None:
    (tmp_path / "custom.toml").write_text("ignore = ['ASL200']\n")
    (tmp_path / "app.py").write_text(BLOCKING)
    out = run("--config", "custom.toml", "app.py", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (0, "All checks passed!\n")


def test_noqa_and_skip_file(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(BLOCKING.replace("time.sleep(1)", "time.sleep(1)  # noqa: ASL200"))
    (tmp_path / "b.py").write_text(BLOCKING.replace("time.sleep(1)", "time.sleep(1)  # noqa: ASL210"))
    (tmp_path / "c.py").write_text("# asynclint: skip-file\n" + BLOCKING)
    # a reason after the codes is not more codes: "a" would be a prefix of every ASL code
    (tmp_path / "d.py").write_text(BLOCKING.replace("time.sleep(1)", "time.sleep(1)  # noqa: ASL210 a reason"))
    (tmp_path / "e.py").write_text(BLOCKING.replace("time.sleep(1)", "time.sleep(1)  # noqa: ASL210,ASL200 legacy"))
    out = run(".", cwd=tmp_path)
    assert [line.split(":")[0] for line in out.stdout.splitlines()[:-1]] == ["b.py", "d.py"]


def test_statistics(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(BLOCKING + "\n\nasync def other():\n    time.sleep(2)\n    await asyncio.sleep(0)\n")
    out = run("--statistics", "app.py", cwd=tmp_path)
    assert out.stdout.splitlines() == ["2\tASL200\t[*] blocking-sleep", "Found 2 errors (2 fixable with --fix)."]


def test_version_rules_and_rule_docs(tmp_path: Path) -> None:
    from asynclint import __version__

    assert run("--version", cwd=tmp_path).stdout.strip() == f"asynclint {__version__}"
    listing = run("rules", cwd=tmp_path).stdout.splitlines()
    assert any(line.startswith("ASL200  blocking-sleep") for line in listing)
    doc = run("rule", "ASL200", cwd=tmp_path)
    assert doc.returncode == 0
    assert doc.stdout.startswith("## ASL200 blocking-sleep\n")
    assert "### Why is this bad?" in doc.stdout
    assert run("rule", "blocking-sleep", cwd=tmp_path).stdout == doc.stdout


def test_python_dash_m_and_console_script_agree(tmp_path: Path) -> None:
    import shutil

    (tmp_path / "app.py").write_text(BLOCKING)
    script = shutil.which("asynclint", path=str(Path(sys.executable).parent))
    assert script is not None
    a = subprocess.run([script, "app.py"], cwd=tmp_path, capture_output=True, text=True)
    b = run("app.py", cwd=tmp_path)
    assert (a.returncode, a.stdout) == (b.returncode, b.stdout)


NEVER_SUSPENDS = (
    "async def handler(x):\n    return x\n\n\n"
    "async def _private():\n    return 1\n\n\n"
    "async def use():\n    return await _private()\n"
)


@pytest.mark.parametrize(
    ("args", "config", "codes"),
    [
        ((), "", ["ASL100"]),
        (("--select", "ASL"), "", ["ASL100"]),
        (("--select", "ASL1"), "", ["ASL100"]),
        (("--extend-select", "ASL104"), "", ["ASL104", "ASL100"]),
        (("--select", "ASL104"), "", ["ASL104"]),
        ((), '[tool.asynclint]\nextend-select = ["ASL104"]\n', ["ASL104", "ASL100"]),
        # the longest selector wins, as in ruff: the full code beats the ignored prefix
        (("--extend-select", "ASL104", "--ignore", "ASL1"), "", ["ASL104"]),
    ],
)
def test_off_by_default_rules_need_their_full_code(tmp_path: Path, args: tuple[str, ...], config: str, codes: list[str]) -> None:
    """ASL104 is off by default: a prefix (``ASL``, ``ASL1``) does not turn it on, its full code does."""
    (tmp_path / "app.py").write_text(NEVER_SUSPENDS)
    (tmp_path / "pyproject.toml").write_text(config)
    out = run("--output-format", "concise", *args, "app.py", cwd=tmp_path)
    assert [line.split()[1] for line in out.stdout.splitlines() if line.startswith("app.py")] == codes, out.stdout


@pytest.mark.parametrize(
    ("relative", "config", "reported"),
    [
        ("app.py", "", True),
        ("tests/test_app.py", "", False),
        ("tests/helpers.py", "", False),
        ("pkg/conftest.py", "", False),
        ("pkg/app_test.py", "", False),
        ("src/pkg/test_support/app.py", "", True),
        ("tests/test_app.py", "[tool.asynclint]\nignore-in-tests = []\n", True),
        ("checks/app.py", '[tool.asynclint]\ntest-files = ["checks"]\n', False),
    ],
)
def test_blocking_calls_in_test_code_are_not_reported_by_default(
    tmp_path: Path, relative: str, config: str, reported: bool
) -> None:
    """A blocking call in a test stalls no request (ignore-in-tests = ["ASL2"] by default); the
    folders above the project root never count (pytest's own tmp folders are named test_*)."""
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BLOCKING)
    (tmp_path / "pyproject.toml").write_text(config)
    out = run("--output-format", "concise", relative, cwd=tmp_path)
    assert ("ASL200" in out.stdout) is reported, out.stdout
    assert out.returncode == (1 if reported else 0)


def test_gitignore_and_exclude_patterns_raise_no_deprecation_warning(tmp_path: Path) -> None:
    """pathspec deprecated its ``gitwildmatch`` factory; the patterns go through ``GitIgnoreSpec``."""
    (tmp_path / ".gitignore").write_text("build/\n*.tmp.py\n")
    (tmp_path / "pyproject.toml").write_text('[tool.asynclint]\nextend-exclude = ["generated/"]\n')
    for folder in ("build", "generated", "app"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "m.py").write_text("import time\n\nasync def f():\n    time.sleep(1)\n")
    proc = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-m", "asynclint", "--no-cache", "--output-format", "concise", "."],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Warning" not in proc.stderr
    assert [line.split(":")[0] for line in proc.stdout.splitlines()] == ["app/m.py"]
