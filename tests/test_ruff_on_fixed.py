"""ruff on the fixed goldens: a fix never leaves an undefined name (F821), an unused import (F401) or
a redefinition (F811) that the original did not have. One ruff run covers every fixture."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLDENS = sorted(FIXTURES.rglob("ASL*.py.fixed"))
WATCHED = ("F821", "F401", "F811")


def _ruff() -> list[str]:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("ruff")
    if found:
        return [found]
    return [sys.executable, "-m", "ruff"]


@pytest.fixture(scope="module")
def problems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Counter[tuple[str, str]]]:
    """file name -> Counter of (code, message) for the watched codes, for originals and goldens."""
    root = tmp_path_factory.mktemp("ruff")
    for golden in GOLDENS:
        original = golden.with_suffix("")
        shutil.copyfile(original, root / original.name)
        shutil.copyfile(golden, root / f"{original.stem}_fixed.py")
    proc = subprocess.run(
        [*_ruff(), "check", "--isolated", "--no-cache", "--select", "F", "--output-format", "json", "--exit-zero", "."],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out: dict[str, Counter[tuple[str, str]]] = {p.name: Counter() for p in root.iterdir()}
    for item in json.loads(proc.stdout):
        if item["code"] in WATCHED:
            out[Path(item["filename"]).name][(item["code"], item["message"])] += 1
    return out


@pytest.mark.parametrize("golden", GOLDENS, ids=[p.name for p in GOLDENS])
def test_fix_adds_no_undefined_unused_or_redefined_name(
    problems: dict[str, Counter[tuple[str, str]]], golden: Path
) -> None:
    stem = golden.with_suffix("").stem
    before, after = problems[f"{stem}.py"], problems[f"{stem}_fixed.py"]
    new = after - before
    assert not new, f"{golden.name}: the fix introduced {sorted(new.elements())}"


def test_ruff_sees_the_problems_it_is_asked_about(tmp_path: Path) -> None:
    """The check can fail: ruff reports each watched code on a file made to have it."""
    (tmp_path / "bad.py").write_text("import os\nimport sys\nimport sys\n\nprint(undefined_name)\n")
    proc = subprocess.run(
        [*_ruff(), "check", "--isolated", "--no-cache", "--select", "F", "--output-format", "json", "--exit-zero", "bad.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert sorted(item["code"] for item in json.loads(proc.stdout)) == ["F401", "F401", "F811", "F821"]
