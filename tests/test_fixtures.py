"""Every fixture: the findings are exactly the annotated (line, code) pairs; ``.fixed`` goldens match
``--fix --unsafe-fixes`` and are a fixpoint."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from annotations import compare, config_overrides

from asynclint.config import config_from_mapping
from asynclint.engine import lint_bytes
from asynclint.fixes import fix_bytes

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FILES = sorted(FIXTURES.rglob("ASL*.py"))


def fixture_config(path: Path, source: str):
    data = config_overrides(source)
    if "select" not in data:
        data["select"] = [re.match(r"ASL\d{3}", path.name).group(0)]  # type: ignore[union-attr]
    return config_from_mapping(data, FIXTURES)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_fixture_findings(path: Path) -> None:
    source = path.read_text(encoding="utf-8", errors="surrogateescape")
    result = lint_bytes(path.read_bytes(), str(path), fixture_config(path, source))
    assert result.error is None
    missing, unexpected = compare(source, result.findings)
    assert not missing and not unexpected, f"missing={sorted(missing)} unexpected={sorted(unexpected)}"
    keys = [(f.line, f.col, f.code) for f in result.findings]
    assert len(keys) == len(set(keys)), f"duplicate findings: {sorted(k for k in keys if keys.count(k) > 1)}"


FIXED = sorted(FIXTURES.rglob("ASL*.py.fixed"))


@pytest.mark.parametrize("golden", FIXED, ids=[p.name for p in FIXED])
def test_fixture_fix(golden: Path) -> None:
    path = golden.with_suffix("")
    source = path.read_text(encoding="utf-8", errors="surrogateescape")
    config = fixture_config(path, source)
    fixed = fix_bytes(path.read_bytes(), str(path), config, unsafe=True)
    assert fixed.error is None
    assert fixed.source.decode("utf-8") == golden.read_text(encoding="utf-8")
    again = fix_bytes(fixed.source, str(path), config, unsafe=True)
    assert again.error is None and again.source == fixed.source, "fixing the golden again changed it"
    compile(fixed.source, str(golden), "exec")


def test_every_fixable_fixture_has_a_golden() -> None:
    for path in FILES:
        source = path.read_text(encoding="utf-8", errors="surrogateescape")
        fixed = fix_bytes(path.read_bytes(), str(path), fixture_config(path, source), unsafe=True)
        if fixed.changed:
            assert path.with_name(path.name + ".fixed").exists(), f"{path.name} has fixes but no .fixed golden"
