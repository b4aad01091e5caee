"""The bundled example service: every rule of the core and threaded issues fires on it, and --fix
(safe, then unsafe) leaves code that compiles, re-lints clean of what it fixed, and is a fixpoint."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
EXPECTED_CODES = {
    "ASL100", "ASL101", "ASL102", "ASL103", "ASL200", "ASL210", "ASL220", "ASL230", "ASL240", "ASL250",
    "ASL260", "ASL290", "ASL300", "ASL301", "ASL302",
}


def asynclint(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asynclint", "--output-format", "concise", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )


def findings(out: str) -> list[tuple[str, int, str]]:
    rows = []
    for line in out.splitlines():
        path, lineno, _col, rest = line.split(":", 3)
        rows.append((path, int(lineno), rest.split()[0]))
    return rows


def test_example_app_reports_every_rule(tmp_path: Path) -> None:
    out = asynclint("--extend-select", "ASL102", "examples/", cwd=ROOT)
    assert out.returncode == 1, out.stderr
    assert {code for _, _, code in findings(out.stdout)} == EXPECTED_CODES
    # ASL102 is off by default
    default = asynclint("examples/", cwd=ROOT)
    assert {code for _, _, code in findings(default.stdout)} == EXPECTED_CODES - {"ASL102"}


def test_fix_on_examples_compiles_converges_and_clears_what_it_fixed(tmp_path: Path) -> None:
    work = tmp_path / "examples"
    shutil.copytree(EXAMPLES, work)
    before = findings(asynclint(".", cwd=work).stdout)
    for extra in ([], ["--unsafe-fixes"]):
        fixed = asynclint("--fix", *extra, ".", cwd=work)
        assert fixed.returncode in (0, 1), fixed.stderr
        assert fixed.stderr == ""
        for path in work.rglob("*.py"):
            compile(path.read_bytes(), str(path), "exec")
        snapshot = {p: p.read_bytes() for p in work.rglob("*.py")}
        again = asynclint("--fix", *extra, ".", cwd=work)
        assert {p: p.read_bytes() for p in work.rglob("*.py")} == snapshot, "a second --fix changed files"
        assert again.returncode == fixed.returncode
    after = findings(asynclint(".", cwd=work).stdout)
    # what is left after every fix are the findings that have no fix at all
    assert {code for _, _, code in after} <= {"ASL100", "ASL103", "ASL220", "ASL230", "ASL250", "ASL260"}
    assert len(after) < len(before)
    diff = subprocess.run(
        [sys.executable, "-m", "asynclint", "--diff", "--unsafe-fixes", "."], cwd=work, capture_output=True, text=True
    )
    assert (diff.returncode, diff.stdout) == (0, "")
