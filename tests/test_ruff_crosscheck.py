"""Cross-check with ruff: every ruff finding of the overlapping rules on our fixtures is matched by an
asynclint finding on the same line, or listed with its reason in tests/ruff_divergences.toml."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from annotations import config_overrides

from asynclint.config import config_from_mapping
from asynclint.engine import lint_bytes

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
RUFF_TO_OURS = {
    "ASYNC251": "ASL200",
    "ASYNC210": "ASL210",
    "ASYNC212": "ASL210",
    "ASYNC220": "ASL220",
    "ASYNC221": "ASL220",
    "ASYNC222": "ASL220",
    "ASYNC230": "ASL230",
    "ASYNC250": "ASL240",
    "RUF006": "ASL102",
    # RUF029 (preview) is the broad "async function with no await": our off-by-default ASL104, plus
    # the narrow cases ASL100 reports instead
    "RUF029": "ASL104",
}


def ruff_findings() -> list[tuple[str, int, str]]:
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--preview", "--no-cache",
         "--select", ",".join(RUFF_TO_OURS), "--output-format", "json", str(FIXTURES)],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode in (0, 1), out.stderr
    found = []
    for item in json.loads(out.stdout):
        if item["code"] is None:  # ruff's own syntax errors: ASL001 fixtures
            continue
        found.append((Path(item["filename"]).name, item["location"]["row"], item["code"]))
    return found


def our_findings() -> set[tuple[str, int, str]]:
    ours: set[tuple[str, int, str]] = set()
    for path in sorted(FIXTURES.rglob("*.py")):
        source = path.read_text(encoding="utf-8", errors="surrogateescape")
        data = {k: v for k, v in config_overrides(source).items() if k != "select"}
        data["extend-select"] = ["ASL102", "ASL104"]  # the off-by-default rules ruff has counterparts of
        result = lint_bytes(path.read_bytes(), str(path), config_from_mapping(data, FIXTURES))
        ours |= {(path.name, f.line, "ASL104" if f.code == "ASL100" else f.code) for f in result.findings}
    return ours


def divergences() -> dict[tuple[str, int, str], str]:
    data = tomllib.loads((TESTS / "ruff_divergences.toml").read_text(encoding="utf-8"))
    out = {}
    for entry in data.get("divergence", []):
        assert entry["reason"].strip(), entry
        out[(entry["file"], entry["line"], entry["ruff"])] = entry["reason"]
    return out


def test_ruff_findings_are_matched_or_explained() -> None:
    ruff = ruff_findings()
    assert ruff, "ruff found nothing in the fixtures: the cross-check would be empty"
    ours = our_findings()
    explained = divergences()
    unexplained = [
        (name, line, code) for name, line, code in ruff
        if (name, line, RUFF_TO_OURS[code]) not in ours and (name, line, code) not in explained
    ]
    assert not unexplained, f"ruff findings asynclint misses without an explanation: {unexplained}"
    stale = [key for key in explained if key not in set(ruff) or (key[0], key[1], RUFF_TO_OURS[key[2]]) in ours]
    assert not stale, f"divergences that no longer diverge (remove them): {stale}"
