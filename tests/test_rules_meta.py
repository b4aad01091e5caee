"""Meta tests: the registry, the rule classes' docs and examples, and docs/rules.md agree."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from annotations import compare, expected

from asynclint import registry
from asynclint.config import Config
from asynclint.docs import render_all
from asynclint.engine import lint_bytes
from asynclint.fixes import fix_bytes
from asynclint.rule import Safety

ROOT = Path(__file__).resolve().parents[1]
RULES = registry.all_rules()

#: the public contract of ../shared/RULES.md (codes and slugs never change meaning)
CATALOGUE = {
    "ASL100": "async-without-await",
    "ASL101": "unawaited-coroutine",
    "ASL102": "dangling-task",
    "ASL103": "nested-event-loop",
    "ASL104": "async-never-suspends",
    "ASL200": "blocking-sleep",
    "ASL210": "blocking-http",
    "ASL220": "blocking-subprocess",
    "ASL230": "blocking-file-io",
    # added with the coverage issue (flake8-async/ruff ASYNC240): RULES.md should list it
    "ASL231": "blocking-fs-call",
    "ASL240": "blocking-input",
    "ASL250": "blocking-sync-primitive",
    "ASL260": "blocking-client",
    "ASL290": "transitive-blocking-call",
    "ASL300": "shared-file-write",
    "ASL301": "shared-file-handle",
    "ASL302": "shared-state-race",
}
#: fix safety per RULES.md (None: no fix)
FIX_SAFETY = {
    "ASL100": Safety.UNSAFE, "ASL101": Safety.SAFE, "ASL102": Safety.UNSAFE, "ASL103": None, "ASL104": None,
    "ASL200": Safety.SAFE, "ASL210": Safety.UNSAFE, "ASL220": Safety.UNSAFE, "ASL230": Safety.UNSAFE,
    "ASL231": Safety.UNSAFE, "ASL240": Safety.UNSAFE, "ASL250": None, "ASL260": Safety.UNSAFE, "ASL290": Safety.UNSAFE, "ASL300": Safety.UNSAFE,
    "ASL301": Safety.UNSAFE, "ASL302": Safety.UNSAFE,
}


def test_codes_and_slugs_are_unique_and_well_formed() -> None:
    codes = [r.code for r in RULES]
    slugs = [r.slug for r in RULES]
    assert len(set(codes)) == len(codes)
    assert len(set(slugs)) == len(slugs)
    for rule in RULES:
        assert re.fullmatch(r"ASL\d{3}", rule.code)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.slug)
        module = rule.__module__.rsplit(".", 1)[1]
        assert module == rule.slug.replace("-", "_"), f"{rule.code} lives in {module}.py, not {rule.slug}"


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_matches_catalogue(rule) -> None:
    assert CATALOGUE.get(rule.code) == rule.slug
    assert rule.fix_safety == FIX_SAFETY[rule.code]


def test_every_catalogue_rule_is_implemented() -> None:
    assert {r.code for r in RULES} == set(CATALOGUE)


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_docstring_sections(rule) -> None:
    doc = rule.__doc__ or ""
    assert doc.strip().split("\n\n")[0].strip(), "first paragraph says what it does"
    assert "## Why is this bad?" in doc
    if rule.fix_safety is not None:
        assert "## Fix safety" in doc
    assert "{" not in rule.summary()


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_examples(rule) -> None:
    """Each rule has a bad and a good example; they lint exactly as annotated; fixes match."""
    config = Config(select=[rule.code])
    bad = [e for e in rule.examples if any(code == rule.code for _, code, _ in expected(e.source))]
    good = [e for e in rule.examples if e not in bad]
    assert bad and good, "at least one flagged and one clean example"
    for example in rule.examples:
        result = lint_bytes(example.source.encode(), "example.py", config)
        missing, unexpected = compare(example.source, result.findings)
        assert not missing and not unexpected, (missing, unexpected, example.source)
        if example.fixed_source is not None:
            fixed = fix_bytes(example.source.encode(), "example.py", config, unsafe=True)
            assert fixed.error is None
            assert fixed.source.decode() == example.fixed_source
    if rule.fix_safety is not None:
        assert any(e.fixed is not None for e in bad), "a fixable rule shows its fix"


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_every_rule_has_a_fixture(rule) -> None:
    assert (ROOT / "tests" / "fixtures" / f"{rule.code}.py").is_file()


def test_docs_are_current() -> None:
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == render_all(), "docs/rules.md is stale: run python -m asynclint.docs"


def test_docs_check_command_detects_staleness(tmp_path) -> None:
    def check(target) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "asynclint.docs", "--check", "--output", str(target)], capture_output=True, text=True
        )

    assert check(ROOT / "docs" / "rules.md").returncode == 0
    stale = tmp_path / "rules.md"
    stale.write_text(render_all().replace("blocking-sleep", "blocking-slumber"), encoding="utf-8")
    out = check(stale)
    assert out.returncode == 1 and "is stale" in out.stderr


def test_rule_table_matches_the_classes() -> None:
    """The static table lets selection and cached runs go without importing the rule classes."""
    assert registry.RULE_TABLE == tuple((r.code, r.slug, r.default) for r in registry.all_rules())


def test_specs_match_the_classes() -> None:
    """The prefilter and gate run from asynclint.specs (no libcst): the same values as the classes."""
    from asynclint.specs import SPECS

    assert list(SPECS) == [r.code for r in registry.all_rules()]
    configs = [Config(), Config(thread_entrypoints=["myapp.jobs.run_later"])]
    for rule in registry.all_rules():
        spec = SPECS[rule.code]
        assert (spec.requires, spec.gate) == (rule.requires, rule.gate), rule.code
        for config in configs:
            assert spec.markers_for_config(config) == rule.markers_for_config(config), rule.code
