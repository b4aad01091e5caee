"""Configuration habits of ruff users and papercuts (issue 14), through the real ``asynclint`` command:
``extend``, "did you mean" for unknown keys and codes, ``.git/info/exclude``, ``rules --output-format
json``, the configuration's JSON schema, and ASL001 for every file that does not parse."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BLOCKING = "import asyncio\nimport time\n\n\nasync def handler():\n    time.sleep(1)\n    await asyncio.sleep(0)\n"
SLEEP_LINE = "6:5: ASL200 [*] `time.sleep(...)` blocks the event loop; use `await asyncio.sleep(...)`"


def run(*args: str, cwd: Path, python_flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASYNCLINT_", "GIT_"))}
    return subprocess.run(
        [sys.executable, *python_flags, "-m", "asynclint", *args],
        cwd=cwd, capture_output=True, text=True, env=env, timeout=120,
    )


# --- ASL001 for files no rule needs parsed ------------------------------------------------------


def test_unparsable_file_without_async_markers_is_asl001(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def f(:\n    pass\n")
    out = run("--no-cache", "bad.py", cwd=tmp_path)
    assert (out.returncode, out.stdout, out.stderr) == (
        1, "bad.py:1:7: ASL001 SyntaxError: invalid syntax\nFound 1 error.\n", ""
    )


def test_unparsable_file_is_asl001_from_the_cache_too(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def f(:\n    pass\n")
    (tmp_path / "good.py").write_text("def g():\n    return 1\n")
    first = run("bad.py", "good.py", cwd=tmp_path)
    assert (tmp_path / ".asynclint_cache").is_dir()
    second = run("bad.py", "good.py", cwd=tmp_path)
    expected = "bad.py:1:7: ASL001 SyntaxError: invalid syntax\nFound 1 error.\n"
    assert (first.returncode, first.stdout) == (1, expected)
    assert (second.returncode, second.stdout) == (1, expected)


def test_skipped_file_syntax_check_ignores_warnings(tmp_path: Path) -> None:
    """``"\\d"`` warns while parsing; under ``-W error`` that must not become a false ASL001."""
    (tmp_path / "esc.py").write_text('import re\n\nDIGITS = re.compile("\\d+")\n')
    out = run("--no-cache", "esc.py", cwd=tmp_path, python_flags=("-W", "error"))
    assert (out.returncode, out.stdout, out.stderr) == (0, "All checks passed!\n", "")


def test_asl001_for_skipped_files_follows_ignore_and_skip_file(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def f(:\n    pass\n")
    (tmp_path / "skipped.py").write_text("# asynclint: skip-file\ndef f(:\n    pass\n")
    out = run("--no-cache", "--ignore", "ASL001", "bad.py", "skipped.py", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (0, "All checks passed!\n")
    out = run("--no-cache", "skipped.py", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (0, "All checks passed!\n")


def test_flake8_reports_e999_once_and_no_asl001(tmp_path: Path) -> None:
    """flake8 runs plugins only on files its parser accepted: E999 alone, not ASL001 beside it."""
    pytest.importorskip("flake8")
    (tmp_path / "bad.py").write_text("def f(:\n    pass\n")
    out = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "E9,ASL", "--asynclint-no-cache", "bad.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert (out.returncode, out.stdout) == (1, "bad.py:1:8: E999 SyntaxError: invalid syntax\n")
