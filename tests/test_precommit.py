"""The pre-commit hooks of this repository (.pre-commit-hooks.yaml), run by pre-commit itself against a
scratch git repository: the check hook fails on a blocking call and passes on clean code; the fix hook
rewrites the file. pre-commit builds the hook environment from the checkout's HEAD commit (pip, from
PyPI) once for the module."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from asynclint.config import Config
from asynclint.fixes import fix_bytes

REPO = Path(__file__).resolve().parents[1]

BLOCKING = "import time\n\n\nasync def main():\n    time.sleep(1)\n"
CLEAN = "import asyncio\n\n\nasync def main():\n    await asyncio.sleep(1)\n"


def _env(home: Path) -> dict[str, str]:
    # GIT_* from an enclosing git hook (GIT_INDEX_FILE, GIT_DIR) would point git at the wrong repository
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "ASYNCLINT_", "PRE_COMMIT"))}
    env["PRE_COMMIT_HOME"] = str(home)
    return env


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60)
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def precommit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One PRE_COMMIT_HOME for the module: the hook environment is built once."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(scope="module")
def hooks_rev() -> str:
    # the checkout's HEAD: what CI tests is the committed tree (pre-commit clones the repository)
    return git(REPO, "rev-parse", "HEAD")


@pytest.fixture
def project(tmp_path: Path, hooks_rev: str) -> Path:
    git(tmp_path, "init", "-q")
    (tmp_path / ".pre-commit-config.yaml").write_text(
        f"repos:\n"
        f"  - repo: {REPO.as_posix()}\n"
        f"    rev: {hooks_rev}\n"
        f"    hooks:\n"
        f"      - id: asynclint\n"
        f"      - id: asynclint-fix\n",
        encoding="utf-8",
    )
    # not Python: the hooks' `types: [python]` keeps it away from asynclint
    (tmp_path / "notes.txt").write_text("time.sleep(1) in async def main\n", encoding="utf-8")
    return tmp_path


def pre_commit(project: Path, home: Path, hook: str) -> subprocess.CompletedProcess[str]:
    git(project, "add", "-A")
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", hook, "--all-files", "--color", "never"],
        cwd=project,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_check_hook_fails_on_a_blocking_call(project: Path, precommit_home: Path) -> None:
    (project / "app.py").write_text(BLOCKING, encoding="utf-8")
    proc = pre_commit(project, precommit_home, "asynclint")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "app.py:5:5: ASL200 [*] `time.sleep(...)` blocks the event loop" in proc.stdout
    assert "notes.txt" not in proc.stdout
    assert (project / "app.py").read_text(encoding="utf-8") == BLOCKING, "the check hook never writes"


def test_check_hook_passes_on_clean_code(project: Path, precommit_home: Path) -> None:
    (project / "app.py").write_text(CLEAN, encoding="utf-8")
    proc = pre_commit(project, precommit_home, "asynclint")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "asynclint" in proc.stdout and "Passed" in proc.stdout


def test_fix_hook_rewrites_the_file(project: Path, precommit_home: Path) -> None:
    (project / "app.py").write_text(BLOCKING, encoding="utf-8")
    proc = pre_commit(project, precommit_home, "asynclint-fix")
    # pre-commit fails a hook that modified files, so the user sees and stages the change
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "files were modified by this hook" in proc.stdout
    expected = fix_bytes(BLOCKING.encode(), "app.py", Config()).source.decode()
    assert "await asyncio.sleep(1)" in expected
    assert (project / "app.py").read_text(encoding="utf-8") == expected
    again = pre_commit(project, precommit_home, "asynclint-fix")
    assert again.returncode == 0, again.stdout + again.stderr


def test_documented_config_is_valid(tmp_path: Path, precommit_home: Path) -> None:
    text = (REPO / "docs" / "integrations.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL) if "# .pre-commit-config.yaml" in b]
    assert re.findall(r"- id: (asynclint(?:-fix)?)\b", block) == ["asynclint-fix", "asynclint"]
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(block, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", str(config)],
        env=_env(precommit_home), capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hooks_file_is_valid(precommit_home: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")],
        env=_env(precommit_home), capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
