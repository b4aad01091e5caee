"""``--output-format`` json, github, sarif (and text/concise, ASYNCLINT_OUTPUT_FORMAT), run through the CLI."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from asynclint import registry
from asynclint.config import Config
from asynclint.docs import anchor, render_all
from asynclint.engine import Result, lint_bytes
from asynclint.fixes import apply_fixes
from asynclint.output import FORMATS, Report, escape_data, escape_property, render_github
from asynclint.rule import Finding

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
FILES = sorted(FIXTURES.rglob("*.py"))
# CI has the shared folder beside the checkout; the copy in tests/data keeps the test self-contained
SHARED_SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "schemas" / "sarif-schema-2.1.0.json"
SCHEMA_COPY = REPO / "tests" / "data" / "sarif-schema-2.1.0.json"


def asynclint(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "ASYNCLINT_OUTPUT_FORMAT"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "asynclint", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )


@pytest.fixture(scope="module")
def empty_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "asynclint.toml"
    path.write_text("", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fixture_run(empty_config: Path) -> tuple[dict[str, str], dict[str, Result]]:
    """The CLI over every fixture with every rule on, once per format (in parallel), and the same run
    in process: the findings every format must describe. Paths are relative to the repository."""
    paths = [str(p.relative_to(REPO)) for p in FILES]
    env = {k: v for k, v in os.environ.items() if k != "ASYNCLINT_OUTPUT_FORMAT"}
    procs = {
        fmt: subprocess.Popen(
            [sys.executable, "-m", "asynclint", "--select", "ASL", "--config", str(empty_config),
             "--output-format", fmt, *paths],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        )
        for fmt in ("json", "github", "sarif")
    }
    config = Config(select=["ASL"], root=REPO)
    rules = registry.enabled_rules(config)
    results = {path: lint_bytes((REPO / path).read_bytes(), path, config, rules) for path in paths}
    outputs: dict[str, str] = {}
    for fmt, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=600)
        assert stderr == "" and proc.returncode in (0, 1), stderr
        outputs[fmt] = stdout
    return outputs, results


@pytest.fixture(scope="module")
def engine_results(fixture_run: tuple[dict[str, str], dict[str, Result]]) -> dict[str, Result]:
    return fixture_run[1]


def all_findings(results: dict[str, Result]) -> list[Finding]:
    return [f for r in results.values() for f in r.findings]


# ---------------------------------------------------------------- applying edits (the consumer's view)

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def apply_edits(text: str, edits: list[tuple[int, int, int, int, str]]) -> str:
    """Apply (line, col, end_line, end_col, content) edits: 1-based lines as Python counts them,
    1-based columns in characters, end exclusive; a position may be the line after the last one."""
    starts = [0]
    for line in _LINE.findall(text):
        starts.append(starts[-1] + len(line))

    def offset(line: int, col: int) -> int:
        assert 1 <= line <= len(starts), (line, col)
        base = starts[line - 1]
        limit = starts[line] if line < len(starts) else len(text)
        assert base + col - 1 <= limit, (line, col)
        return base + col - 1

    spans = sorted((offset(a, b), offset(c, d), content) for a, b, c, d, content in edits)
    for (_, end, _), (start, _, _) in zip(spans, spans[1:]):
        assert end <= start, "edits overlap"
    for start, end, content in reversed(spans):
        assert start <= end
        text = text[:start] + content + text[end:]
    return text


def fixed_by(result: Result, finding: Finding) -> str:
    """The text the finding's fix alone produces."""
    assert result.module is not None and finding.fix is not None
    return apply_fixes(result.module, [finding.fix]).code


# ---------------------------------------------------------------- formats and the environment


def test_formats() -> None:
    assert FORMATS == ("text", "concise", "json", "github", "sarif")


@pytest.mark.parametrize("fmt", FORMATS)
def test_environment_sets_the_default_format(fmt: str, tmp_path: Path, empty_config: Path) -> None:
    (tmp_path / "app.py").write_text("import time\n\nasync def main():\n    time.sleep(1)\n", encoding="utf-8")
    base = ("--config", str(empty_config), "--select", "ASL200", "app.py")
    from_env = asynclint(*base, cwd=tmp_path, env={"ASYNCLINT_OUTPUT_FORMAT": fmt})
    from_flag = asynclint(*base, "--output-format", fmt, cwd=tmp_path)
    assert from_env.returncode == from_flag.returncode == 1
    assert from_env.stderr == from_flag.stderr == ""
    assert from_env.stdout == from_flag.stdout
    expected_start = {
        "text": "app.py:4:5: ASL200 [*] ",
        "concise": "app.py:4:5: ASL200 [*] ",
        "json": "[\n",
        "github": "::error file=app.py,line=4,col=5,endLine=4,endColumn=18,title=asynclint (ASL200)::",
        "sarif": "{\n",
    }[fmt]
    assert from_env.stdout.startswith(expected_start)
    if fmt == "text":
        assert from_env.stdout.endswith("\nFound 1 error (1 fixable with --fix).\n")
    if fmt == "concise":
        assert from_env.stdout.count("\n") == 1


def test_flag_wins_over_environment(tmp_path: Path, empty_config: Path) -> None:
    (tmp_path / "app.py").write_text("import time\n\nasync def main():\n    time.sleep(1)\n", encoding="utf-8")
    proc = asynclint(
        "--config", str(empty_config), "--select", "ASL200", "--output-format", "concise", "app.py",
        cwd=tmp_path, env={"ASYNCLINT_OUTPUT_FORMAT": "sarif"},
    )
    assert proc.returncode == 1
    assert proc.stdout == "app.py:4:5: ASL200 [*] `time.sleep(...)` blocks the event loop; use `await asyncio.sleep(...)`\n"


def test_invalid_environment_format_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    proc = asynclint("app.py", cwd=tmp_path, env={"ASYNCLINT_OUTPUT_FORMAT": "xml"})
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        "asynclint: ASYNCLINT_OUTPUT_FORMAT: invalid choice 'xml' (choose from text, concise, json, github, sarif)\n"
    )
    flag = asynclint("--output-format", "xml", "app.py", cwd=tmp_path)
    assert flag.returncode == 2 and flag.stderr.count("\n") == 1 and "invalid choice: 'xml'" in flag.stderr


# ---------------------------------------------------------------- json

FINDING_KEYS = {"path", "line", "column", "end_line", "end_column", "code", "slug", "message", "fix"}


@pytest.fixture(scope="module")
def json_output(fixture_run: tuple[dict[str, str], dict[str, Result]]) -> list[dict[str, Any]]:
    data = json.loads(fixture_run[0]["json"])
    assert isinstance(data, list)
    return data


def test_json_round_trips_the_findings(json_output: list[dict[str, Any]], engine_results: dict[str, Result]) -> None:
    findings = all_findings(engine_results)
    assert findings, "the fixtures produce findings"
    assert len(json_output) == len(findings)
    for item, finding in zip(json_output, findings):
        assert set(item) == FINDING_KEYS
        assert (
            item["path"], item["line"], item["column"], item["end_line"], item["end_column"],
            item["code"], item["slug"], item["message"],
        ) == (
            finding.path, finding.line, finding.col, finding.end_line, finding.end_col,
            finding.code, finding.slug, finding.message,
        )
        if finding.fix is None:
            assert item["fix"] is None
        else:
            assert set(item["fix"]) == {"safety", "title", "edits"}
            assert item["fix"]["safety"] == finding.fix.safety.value
            assert item["fix"]["title"] == finding.fix.title


def _json_edits(item: dict[str, Any]) -> list[tuple[int, int, int, int, str]]:
    return [
        (e["location"]["line"], e["location"]["column"], e["end_location"]["line"], e["end_location"]["column"],
         e["content"])
        for e in item["fix"]["edits"]
    ]


def test_json_fix_edits_give_the_fixed_text(
    json_output: list[dict[str, Any]], engine_results: dict[str, Result]
) -> None:
    checked = 0
    per_rule_and_file: Counter[tuple[str, str]] = Counter()
    for item in json_output:
        if item["fix"] is None:
            continue
        # every rule's fixes in every fixture, but not every repetition: applying fixes is slow
        per_rule_and_file[item["path"], item["code"]] += 1
        if per_rule_and_file[item["path"], item["code"]] > 3:
            continue
        result = engine_results[item["path"]]
        finding = next(f for f in result.findings if (f.line, f.col, f.code) == (item["line"], item["column"], item["code"]))
        original = (REPO / item["path"]).read_bytes().decode("utf-8")
        edits = _json_edits(item)
        assert edits, f"{item['path']}:{item['line']}: a fix without edits"
        assert apply_edits(original, edits) == fixed_by(result, finding), f"{item['path']}:{item['line']}"
        checked += 1
    assert checked, "the fixtures have fixable findings"


def test_json_edits_match_the_cli_fix(tmp_path: Path, empty_config: Path) -> None:
    source = "import time\r\n\r\n\x0c\r\nasync def main():\r\n    x = time.sleep(0).real  # \u00e9\u00e9\r\n    return x\r\n"
    path = tmp_path / "app.py"
    path.write_bytes(source.encode("utf-8"))
    proc = asynclint("--config", str(empty_config), "--select", "ASL200", "--output-format", "json", "app.py", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    (item,) = json.loads(proc.stdout)
    assert (item["line"], item["column"], item["code"], item["fix"]["safety"]) == (5, 9, "ASL200", "safe")
    fixed = asynclint("--config", str(empty_config), "--select", "ASL200", "--fix", "app.py", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    after = path.read_bytes().decode("utf-8")
    # a form feed is not a line break for Python: the rows must still line up after it
    assert "\r\n\x0c\r\nasync def main():\r\n    x = (await asyncio.sleep(0)).real  # \u00e9\u00e9\r\n" in after
    assert apply_edits(source, _json_edits(item)) == after


def test_json_of_a_clean_run_is_an_empty_list(tmp_path: Path, empty_config: Path) -> None:
    (tmp_path / "app.py").write_text("async def main():\n    return 1\n", encoding="utf-8")
    proc = asynclint("--config", str(empty_config), "--select", "ASL2", "--output-format", "json", "app.py", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "[]\n", "")


# ---------------------------------------------------------------- github workflow commands

_PROP_VALUE = r"(?:[^%\r\n:,]|%25|%0D|%0A|%3A|%2C)+"
_DATA = r"(?:[^%\r\n]|%25|%0D|%0A)*"
WORKFLOW_COMMAND = re.compile(
    rf"::error file=(?P<file>{_PROP_VALUE}),line=(?P<line>[1-9][0-9]*),col=(?P<col>[1-9][0-9]*),"
    rf"endLine=(?P<endLine>[1-9][0-9]*),endColumn=(?P<endColumn>[1-9][0-9]*),"
    rf"title=(?P<title>{_PROP_VALUE})::(?P<message>{_DATA})"
)


def unescape(value: str) -> str:
    return re.sub("%(25|0D|0A|3A|2C)", lambda m: chr(int(m.group(1), 16)), value)


def test_escaping_follows_github() -> None:
    assert escape_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert escape_property("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext%3A a%2C b"
    assert escape_data("%0A") == "%250A"


def test_github_lines_follow_the_grammar(fixture_run: tuple[dict[str, str], dict[str, Result]]) -> None:
    outputs, engine_results = fixture_run
    lines = outputs["github"].splitlines()
    findings = all_findings(engine_results)
    assert len(lines) == len(findings) > 0
    for line, finding in zip(lines, findings):
        match = WORKFLOW_COMMAND.fullmatch(line)
        assert match is not None, line
        assert unescape(match["file"]) == Path(finding.path).as_posix()
        assert (int(match["line"]), int(match["col"]), int(match["endLine"]), int(match["endColumn"])) == (
            finding.line, finding.col, finding.end_line, finding.end_col,
        )
        assert unescape(match["title"]) == f"asynclint ({finding.code})"
        assert unescape(match["message"]) == finding.message


def test_github_escapes_percent_newline_and_comma() -> None:
    finding = Finding(
        path="src/50%,dir/a:b\nc.py", line=3, col=7, end_line=4, end_col=2, code="ASL200", slug="blocking-sleep",
        message="100% blocked,\r\nreally: use `await asyncio.sleep(...)` %0A",
    )
    out = render_github(Report(results=[Result(path=finding.path, findings=[finding])]))
    assert out == (
        "::error file=src/50%25%2Cdir/a%3Ab%0Ac.py,line=3,col=7,endLine=4,endColumn=2,title=asynclint (ASL200)"
        "::100%25 blocked,%0D%0Areally: use `await asyncio.sleep(...)` %250A\n"
    )
    (line,) = out.splitlines()
    match = WORKFLOW_COMMAND.fullmatch(line)
    assert match is not None
    assert unescape(match["file"]) == finding.path
    assert unescape(match["message"]) == finding.message


def test_github_paths_are_relative_with_forward_slashes(tmp_path: Path, empty_config: Path) -> None:
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "app.py").write_text("import time\n\nasync def main():\n    time.sleep(1)\n", encoding="utf-8")
    proc = asynclint(
        "--config", str(empty_config), "--select", "ASL200", "--output-format", "github", str(folder / "app.py"),
        cwd=tmp_path,
    )
    assert proc.stdout.startswith("::error file=pkg/app.py,line=4,col=5,"), proc.stdout
    assert proc.returncode == 1


def test_github_clean_run_prints_nothing(tmp_path: Path, empty_config: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    proc = asynclint("--config", str(empty_config), "--output-format", "github", "app.py", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_action_yml_validates_offline() -> None:
    # a proxy that refuses every connection: the builtin schema must come from the package itself
    env = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    command = [str(Path(sys.executable).with_name("check-jsonschema")), "--builtin-schema", "vendor.github-actions"]
    proc = subprocess.run([*command, "action.yml"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok -- validation done" in proc.stdout


def test_action_yml_schema_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "action.yml"
    bad.write_text("name: x\nruns:\n  using: composite\n", encoding="utf-8")
    command = [str(Path(sys.executable).with_name("check-jsonschema")), "--builtin-schema", "vendor.github-actions"]
    proc = subprocess.run([*command, str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "'description' is a required property" in proc.stdout


# ---------------------------------------------------------------- sarif


def sarif_schema() -> dict[str, Any]:
    return json.loads((SHARED_SCHEMA if SHARED_SCHEMA.exists() else SCHEMA_COPY).read_text(encoding="utf-8"))


def validate_sarif(document: dict[str, Any]) -> None:
    schema = sarif_schema()
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    validator(schema, format_checker=validator.FORMAT_CHECKER).validate(document)


def test_schema_copy_matches_the_shared_schema() -> None:
    copy = json.loads(SCHEMA_COPY.read_text(encoding="utf-8"))
    assert copy["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    if SHARED_SCHEMA.exists():
        assert copy == json.loads(SHARED_SCHEMA.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sarif_output(fixture_run: tuple[dict[str, str], dict[str, Result]]) -> dict[str, Any]:
    document = json.loads(fixture_run[0]["sarif"])
    assert isinstance(document, dict)
    return document


def test_sarif_is_valid(sarif_output: dict[str, Any]) -> None:
    validate_sarif(sarif_output)
    assert sarif_output["version"] == "2.1.0"


def test_sarif_schema_check_can_fail(sarif_output: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(sarif_output))
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(broken)


def _github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a markdown file."""
    out = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def test_sarif_driver_lists_every_rule(sarif_output: dict[str, Any]) -> None:
    driver = sarif_output["runs"][0]["tool"]["driver"]
    assert driver["name"] == "asynclint"
    assert driver["informationUri"].startswith("https://")
    rules = driver["rules"]
    assert [r["id"] for r in rules] == registry.all_codes()
    anchors = _github_anchors(render_all())
    for descriptor in rules:
        rule = registry.lookup(descriptor["id"])
        uri, _, fragment = descriptor["helpUri"].partition("#")
        assert uri.endswith("/docs/rules.md")
        assert fragment in anchors, descriptor["helpUri"]
        assert descriptor["shortDescription"]["text"] and descriptor["fullDescription"]["text"]
        assert descriptor["help"]["text"] and descriptor["help"]["markdown"]
        if rule is not None:
            assert descriptor["name"] == rule.slug
            assert fragment == anchor(rule)
            assert descriptor["shortDescription"]["text"] == " ".join(rule.summary().split())
            assert "Why is this bad?" in descriptor["help"]["markdown"]
        else:
            assert descriptor["name"] == "syntax-error"


def test_sarif_results_match_the_findings(sarif_output: dict[str, Any], engine_results: dict[str, Result]) -> None:
    run = sarif_output["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    findings = all_findings(engine_results)
    assert len(results) == len(findings) > 0
    for item, finding in zip(results, findings):
        assert item["ruleId"] == finding.code == rules[item["ruleIndex"]]["id"]
        assert item["message"]["text"] == finding.message
        (location,) = item["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"] == {"uri": Path(finding.path).as_posix(), "uriBaseId": "%SRCROOT%"}
        assert physical["region"] == {
            "startLine": finding.line, "startColumn": finding.col,
            "endLine": finding.end_line, "endColumn": finding.end_col,
        }
        assert ("fixes" in item) == (finding.fix is not None)
    assert run["columnKind"] == "unicodeCodePoints"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == REPO.as_uri() + "/"


def test_sarif_fixes_are_the_json_edits(
    sarif_output: dict[str, Any], json_output: list[dict[str, Any]], engine_results: dict[str, Result]
) -> None:
    """SARIF fixes carry the same edits as the JSON output (which test_json_fix_edits_give_the_fixed_text
    applies to the text)."""
    checked = 0
    for item, as_json, finding in zip(sarif_output["runs"][0]["results"], json_output, all_findings(engine_results)):
        if finding.fix is None:
            continue
        (fix,) = item["fixes"]
        assert fix["description"]["text"] == f"{finding.fix.title} ({finding.fix.safety.value} fix)"
        (change,) = fix["artifactChanges"]
        assert change["artifactLocation"] == {"uri": Path(finding.path).as_posix(), "uriBaseId": "%SRCROOT%"}
        edits = [
            (r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"], r["deletedRegion"]["endLine"],
             r["deletedRegion"]["endColumn"], r["insertedContent"]["text"])
            for r in change["replacements"]
        ]
        assert edits == _json_edits(as_json) != []
        checked += 1
    assert checked


def test_sarif_fix_applies(tmp_path: Path, empty_config: Path) -> None:
    source = "import time\n\nasync def main():\n    time.sleep(1)\n"
    (tmp_path / "app.py").write_text(source, encoding="utf-8")
    proc = asynclint("--config", str(empty_config), "--select", "ASL200", "--output-format", "sarif", "app.py", cwd=tmp_path)
    (result,) = json.loads(proc.stdout)["runs"][0]["results"]
    (fix,) = result["fixes"]
    edits = [
        (r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"], r["deletedRegion"]["endLine"],
         r["deletedRegion"]["endColumn"], r["insertedContent"]["text"])
        for r in fix["artifactChanges"][0]["replacements"]
    ]
    assert asynclint("--config", str(empty_config), "--select", "ASL200", "--fix", "app.py", cwd=tmp_path).returncode == 0
    assert apply_edits(source, edits) == (tmp_path / "app.py").read_text(encoding="utf-8")
    assert "await asyncio.sleep(1)" in apply_edits(source, edits)


def test_sarif_uris_outside_the_working_folder_and_special_characters(tmp_path: Path, empty_config: Path) -> None:
    inside = tmp_path / "work" / "my pkg"
    inside.mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    source = "import time\n\nasync def main():\n    time.sleep(1)\n"
    (inside / "a%b.py").write_text(source, encoding="utf-8")
    (outside / "c.py").write_text(source, encoding="utf-8")
    proc = asynclint(
        "--config", str(empty_config), "--select", "ASL200", "--output-format", "sarif",
        "my pkg/a%b.py", str(outside / "c.py"), cwd=tmp_path / "work",
    )
    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)
    validate_sarif(document)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in document["runs"][0]["results"]]
    assert uris == [
        {"uri": "my%20pkg/a%25b.py", "uriBaseId": "%SRCROOT%"},
        {"uri": (outside / "c.py").as_uri()},
    ]


def test_sarif_of_a_clean_run_is_valid_and_empty(tmp_path: Path, empty_config: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    proc = asynclint("--config", str(empty_config), "--output-format", "sarif", "app.py", cwd=tmp_path)
    assert proc.returncode == 0
    document = json.loads(proc.stdout)
    validate_sarif(document)
    assert document["runs"][0]["results"] == []
    assert document["runs"][0]["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]


def _doc_blocks(language: str, first_line_prefix: str) -> list[str]:
    text = (REPO / "docs" / "integrations.md").read_text(encoding="utf-8")
    blocks = re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)
    return [b for b in blocks if b.startswith(first_line_prefix)]


def test_documented_workflows_validate(tmp_path: Path) -> None:
    """The workflows users paste from docs/integrations.md are valid GitHub workflows."""
    blocks = _doc_blocks("yaml", "# .github/workflows/")
    assert len(blocks) == 2
    files = []
    for i, block in enumerate(blocks):
        path = tmp_path / f"workflow{i}.yml"
        path.write_text(block, encoding="utf-8")
        files.append(str(path))
    command = [str(Path(sys.executable).with_name("check-jsonschema")), "--builtin-schema", "vendor.github-workflows"]
    proc = subprocess.run([*command, *files], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert any("uses: asynclint/asynclint@" in b for b in blocks)
    assert any("github/codeql-action/upload-sarif@" in b and "--output-format sarif" in b for b in blocks)


def test_action_run_step_passes_inputs(tmp_path: Path) -> None:
    """The action's run step, executed by bash with the inputs as GitHub passes them (the install step
    is pip; here the test environment's asynclint stands in for the one it installs)."""
    import yaml

    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) == {"paths", "args"} and action["inputs"]["paths"]["default"] == "."
    install, step = action["runs"]["steps"]
    assert "${{ github.action_path }}" in install["env"]["ACTION_PATH"]
    assert step["env"]["INPUT_PATHS"] == "${{ inputs.paths }}" and step["env"]["INPUT_ARGS"] == "${{ inputs.args }}"
    (tmp_path / "app.py").write_text("import time\n\nasync def main():\n    time.sleep(1)\n", encoding="utf-8")
    (tmp_path / "other.py").write_text("import time\n\nasync def main():\n    time.sleep(2)\n", encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCLINT_")}
    base["ASYNCLINT_BIN"] = str(Path(sys.executable).parent)

    def run_step(paths: str, args: str) -> subprocess.CompletedProcess[str]:
        env = {**base, "INPUT_PATHS": paths, "INPUT_ARGS": args}
        return subprocess.run(
            ["bash", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    proc = run_step("app.py  other.py", "--select ASL200")
    assert proc.returncode == 1, proc.stderr
    assert [line.split(",")[0] for line in proc.stdout.splitlines()] == ["::error file=app.py", "::error file=other.py"]
    assert all(WORKFLOW_COMMAND.fullmatch(line) for line in proc.stdout.splitlines())
    assert run_step("app.py", "--select ASL200 --exit-zero").returncode == 0
    assert run_step(".", "").returncode == 1  # no extra arguments at all
    star = run_step("*.py", "--select ASL200")  # no glob expansion: '*.py' is not a file
    assert star.returncode == 2 and "*.py: no such file or directory" in star.stderr
