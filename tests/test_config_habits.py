"""Configuration habits of ruff users and papercuts (issue 14), through the real ``asynclint`` command:
``extend``, "did you mean" for unknown keys and codes, ``.git/info/exclude``, ``rules --output-format
json``, the configuration's JSON schema, and ASL001 for every file that does not parse."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BLOCKING = "import asyncio\nimport time\n\n\nasync def handler():\n    time.sleep(1)\n    await asyncio.sleep(0)\n"
SLEEP_LINE = "6:5: ASL200 [*] `time.sleep(...)` blocks the event loop; use `await asyncio.sleep(...)`"


def run(
    *args: str, cwd: Path, python_flags: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("ASYNCLINT_", "GIT_"))}, **(env or {})}
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


# --- extend ---------------------------------------------------------------------------------------

SEVERAL = (
    "import asyncio\nimport subprocess\nimport time\n\nimport requests\n\n\n"
    "async def work():\n    await asyncio.sleep(0)\n\n\n"
    "async def handler():\n"
    "    time.sleep(1)\n"  # line 13: ASL200
    '    requests.get("https://example.com", timeout=5)\n'  # 14: ASL210
    '    subprocess.run(["ls"])\n'  # 15: ASL220
    "    asyncio.create_task(work())\n"  # 16: ASL102 (off by default)
    "    await asyncio.sleep(0)\n"
)


def codes(out: subprocess.CompletedProcess[str]) -> list[str]:
    """``path CODE`` of each finding in concise output."""
    return [f"{line.split(':')[0]} {line.split()[1]}" for line in out.stdout.splitlines()]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("child", "expected"),
    [
        # everything inherited: ignore ASL200, extend-select ASL102, per-file-ignores ASL220
        ("", ["app.py ASL210", "app.py ASL102"]),
        # ignore, extend-select, extend-per-file-ignores (and extend-exclude) accumulate
        ('ignore = ["ASL210"]\n', ["app.py ASL102"]),
        # ... applied after the inherited ones, as ruff does: ASL1 turns off the inherited ASL102,
        # ASL2 turns the inherited ignore of ASL200 back on
        ('ignore = ["ASL1"]\n', ["app.py ASL210"]),
        ('extend-select = ["ASL2"]\n', ["app.py ASL200", "app.py ASL210", "app.py ASL102"]),
        ("extend-select = []\n", ["app.py ASL210", "app.py ASL102"]),
        ('extend-per-file-ignores = { "app.py" = ["ASL102"] }\n', ["app.py ASL210"]),
        # another key set here replaces the inherited value
        ('per-file-ignores = { "app.py" = ["ASL102"] }\n', ["app.py ASL210", "app.py ASL220"]),
        # select drops the inherited selections too (ruff: select overrides what came before it)
        ('select = ["ASL2"]\n', ["app.py ASL200", "app.py ASL210"]),
    ],
)
def test_extend_loads_the_other_file_first_and_this_file_overrides(tmp_path: Path, child: str, expected: list[str]) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[tool.asynclint]\nignore = ["ASL200"]\nextend-select = ["ASL102"]\nper-file-ignores = { "app.py" = ["ASL220"] }\n',
    )
    write(tmp_path / "svc" / "pyproject.toml", f'[tool.asynclint]\nextend = "../pyproject.toml"\n{child}')
    write(tmp_path / "svc" / "app.py", SEVERAL)
    out = run("--no-cache", "--output-format", "concise", "app.py", cwd=tmp_path / "svc")
    assert (codes(out), out.stderr) == (expected, "")


def test_extend_chain_and_standalone_file(tmp_path: Path) -> None:
    """asynclint.toml -> ../shared/base.toml -> ../../pyproject.toml: each file over the one it extends."""
    write(tmp_path / "pyproject.toml", '[tool.asynclint]\nignore = ["ASL200"]\nextend-select = ["ASL102"]\n')
    write(tmp_path / "shared" / "base.toml", 'extend = "../pyproject.toml"\nignore = ["ASL210"]\n')
    write(tmp_path / "svc" / "asynclint.toml", 'extend = "../shared/base.toml"\nignore = ["ASL102"]\n')
    write(tmp_path / "svc" / "app.py", SEVERAL)
    out = run("--no-cache", "--output-format", "concise", "app.py", cwd=tmp_path / "svc")
    assert (codes(out), out.stderr) == (["app.py ASL220"], "")


def test_extend_cycle_is_one_line_naming_the_files(tmp_path: Path) -> None:
    write(tmp_path / "asynclint.toml", 'extend = "shared/base.toml"\n')
    write(tmp_path / "shared" / "base.toml", 'extend = "../asynclint.toml"\n')
    write(tmp_path / "app.py", BLOCKING)
    out = run("--config", "asynclint.toml", "app.py", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.splitlines() == [
        "asynclint: shared/base.toml: extend: circular configuration: "
        "asynclint.toml extends shared/base.toml extends asynclint.toml"
    ]


def test_extend_of_a_missing_file_names_it(tmp_path: Path) -> None:
    write(tmp_path / "asynclint.toml", 'extend = "../nowhere/pyproject.toml"\n')
    write(tmp_path / "app.py", BLOCKING)
    out = run("--config", "asynclint.toml", "app.py", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.splitlines() == ["asynclint: asynclint.toml: extend: ../nowhere/pyproject.toml: no such file"]


def test_extend_errors_name_the_file_with_the_bad_key(tmp_path: Path) -> None:
    write(tmp_path / "base.toml", 'ignore = ["ASL200"]\nfix_styl = "to-thread"\n')
    write(tmp_path / "asynclint.toml", 'extend = "base.toml"\n')
    write(tmp_path / "app.py", BLOCKING)
    out = run("--config", "asynclint.toml", "app.py", cwd=tmp_path)
    assert (out.returncode, out.stderr.splitlines()) == (
        2, ["asynclint: base.toml: unknown key 'fix_styl' in [tool.asynclint] (did you mean 'fix-style'?)"]
    )
    write(tmp_path / "asynclint.toml", "extend = 3\n")
    out = run("--config", "asynclint.toml", "app.py", cwd=tmp_path)
    assert out.stderr.splitlines() == ["asynclint: asynclint.toml: extend: expected a string, got the number 3"]


def test_paths_in_an_extended_file_stay_relative_to_its_folder(tmp_path: Path) -> None:
    """As in ruff: per-file-ignores and exclude patterns are relative to the folder of the file that
    writes them. A pattern without a slash matches names anywhere."""
    write(
        tmp_path / "pyproject.toml",
        "[tool.asynclint]\n"
        'extend-exclude = ["generated/", "svc/vendored/", "/third_party/"]\n'
        'per-file-ignores = { "svc/tools/*.py" = ["ASL200"], "*_pb2.py" = ["ASL200"] }\n',
    )
    write(
        tmp_path / "svc" / "pyproject.toml",
        '[tool.asynclint]\nextend = "../pyproject.toml"\nextend-per-file-ignores = { "tools/*.py" = ["ASL210"] }\n',
    )
    two = "import time\n\nimport requests\n\n\nasync def handler():\n    time.sleep(1)\n    requests.get('https://example.com', timeout=5)\n"
    for name in ("app.py", "tools/gen.py", "api_pb2.py", "generated/x.py", "vendored/x.py", "third_party/x.py"):
        write(tmp_path / "svc" / name, two)
    write(tmp_path / "third_party" / "x.py", two)
    out = run("--no-cache", "--output-format", "concise", cwd=tmp_path / "svc")
    assert (codes(out), out.stderr) == (
        [
            "api_pb2.py ASL210",  # *_pb2.py: a name pattern, anywhere
            "app.py ASL200",
            "app.py ASL210",
            # /third_party/ is the parent folder's third_party, not this one
            "third_party/x.py ASL200",
            "third_party/x.py ASL210",
            # svc/tools/*.py from the parent, tools/*.py from here: both apply
        ],
        "",
    )
    # from the parent folder its own configuration applies, the same patterns
    out = run("--no-cache", "--output-format", "concise", cwd=tmp_path)
    assert codes(out) == [
        "svc/api_pb2.py ASL210",
        "svc/app.py ASL200",
        "svc/app.py ASL210",
        "svc/third_party/x.py ASL200",
        "svc/third_party/x.py ASL210",
        "svc/tools/gen.py ASL210",
    ]


# --- did you mean ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('ignor = ["ASL200"]', "unknown key 'ignor' in [tool.asynclint] (did you mean 'ignore'?)"),
        ("per_file_ignore = {}", "unknown key 'per_file_ignore' in [tool.asynclint] (did you mean 'per-file-ignores'?)"),
        ('extends = "../pyproject.toml"', "unknown key 'extends' in [tool.asynclint] (did you mean 'extend'?)"),
        ("colour = 1", "unknown key 'colour' in [tool.asynclint]"),
        ('select = ["blocking-sleep"]', "select: unknown rule code or prefix 'blocking-sleep' (did you mean 'ASL200'?)"),
        ('select = ["blocking-slep"]', "select: unknown rule code or prefix 'blocking-slep' (did you mean 'ASL200', blocking-sleep?)"),
        ('ignore = ["ASL2000"]', "ignore: unknown rule code or prefix 'ASL2000' (did you mean 'ASL200'?)"),
        ('extend-select = ["ASL1O4"]', "extend-select: unknown rule code or prefix 'ASL1O4' (did you mean 'ASL104'?)"),
        # two codes are one typo away: no guess
        ('select = ["ASL303"]', "select: unknown rule code or prefix 'ASL303'"),
    ],
)
def test_unknown_keys_and_codes_suggest_the_close_one(tmp_path: Path, table: str, message: str) -> None:
    write(tmp_path / "pyproject.toml", f"[tool.asynclint]\n{table}\n")
    write(tmp_path / "app.py", BLOCKING)
    out = run("app.py", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.splitlines() == [f"asynclint: {tmp_path / 'pyproject.toml'}: {message}"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--select", "ASL2000"], "select: unknown rule code or prefix 'ASL2000' (did you mean 'ASL200'?)"),
        (["--ignore", "ASL9"], "ignore: unknown rule code or prefix 'ASL9'"),
        # named as typed, not upper-cased; a slug one typo away
        (["--select", "blocking-slep"], "select: unknown rule code or prefix 'blocking-slep' (did you mean 'ASL200', blocking-sleep?)"),
    ],
)
def test_unknown_codes_on_the_command_line(tmp_path: Path, args: list[str], message: str) -> None:
    write(tmp_path / "app.py", BLOCKING)
    out = run(*args, "app.py", cwd=tmp_path)
    assert (out.returncode, out.stderr.splitlines()) == (2, [f"asynclint: {message}"])


def test_lower_case_codes_on_the_command_line_still_select_and_ignore(tmp_path: Path) -> None:
    write(tmp_path / "app.py", BLOCKING)
    assert run("--select", "asl2", "app.py", cwd=tmp_path).stdout == run("--select", "ASL2", "app.py", cwd=tmp_path).stdout
    out = run("--ignore", "asl200", "app.py", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (0, "All checks passed!\n")


# --- .git/info/exclude and the global excludes file -------------------------------------------------


def git_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A real ``git init`` work tree, and an environment whose git configuration is only ours."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "GIT_CONFIG_NOSYSTEM": "1"}
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env={**os.environ, **env}, timeout=60)
    for name in ("app.py", "scratch/a.py", "local_x.py", "pkg/local_y.py", "pkg/b.py", "pkg/notes.py", "pkg/local/c.py"):
        write(repo / name, BLOCKING)
    return repo, env


def git_ignored(repo: Path, env: dict[str, str]) -> list[str]:
    proc = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
        cwd=repo, capture_output=True, text=True, check=True, env={**os.environ, **env}, timeout=60,
    )
    return sorted(line[3:] for line in proc.stdout.splitlines() if line.startswith("!! "))


def test_git_info_exclude_is_honoured_like_gitignore(tmp_path: Path) -> None:
    repo, env = git_repo(tmp_path)
    (repo / ".git" / "info" / "exclude").write_text("# local only\nscratch/\nlocal_*.py\n/pkg/notes.py\n")
    assert git_ignored(repo, env) == ["local_x.py", "pkg/local_y.py", "pkg/notes.py", "scratch/a.py"]
    out = run("--no-cache", "--output-format", "concise", cwd=repo, env=env)
    assert [line.split(":")[0] for line in out.stdout.splitlines()] == ["app.py", "pkg/b.py", "pkg/local/c.py"]
    # from a folder inside the work tree: the patterns stay relative to the work tree's root
    out = run("--no-cache", "--output-format", "concise", ".", cwd=repo / "pkg", env=env)
    assert [line.split(":")[0] for line in out.stdout.splitlines()] == ["b.py", "local/c.py"]
    # a file named on the command line is always checked
    out = run("--no-cache", "--output-format", "concise", "local_x.py", cwd=repo, env=env)
    assert [line.split(":")[0] for line in out.stdout.splitlines()] == ["local_x.py"]


@pytest.mark.parametrize("configured", [True, False])
def test_global_excludes_file_is_honoured(tmp_path: Path, configured: bool) -> None:
    """core.excludesFile from ~/.gitconfig, or git's default ``$XDG_CONFIG_HOME/git/ignore``."""
    repo, env = git_repo(tmp_path)
    home = Path(env["HOME"])
    if configured:
        write(home / ".gitconfig", '[user]\n\tname = x\n[core]\n\texcludesFile = "~/global-ignore"  # mine\n')
        write(home / "global-ignore", "local_*.py\n")
    else:
        write(home / ".config" / "git" / "ignore", "local_*.py\n")
    assert git_ignored(repo, env) == ["local_x.py", "pkg/local_y.py"]
    out = run("--no-cache", "--output-format", "concise", cwd=repo, env=env)
    assert [line.split(":")[0] for line in out.stdout.splitlines()] == [
        "app.py", "pkg/b.py", "pkg/local/c.py", "pkg/notes.py", "scratch/a.py"
    ]


# --- asynclint rules --output-format json -------------------------------------------------------------


def test_rules_as_json(tmp_path: Path) -> None:
    out = run("rules", "--output-format", "json", cwd=tmp_path)
    assert (out.returncode, out.stderr) == (0, "")
    rules = json.loads(out.stdout)
    assert [r["code"] for r in rules] == [
        "ASL100", "ASL101", "ASL102", "ASL103", "ASL104", "ASL200", "ASL210", "ASL220", "ASL230", "ASL231",
        "ASL240", "ASL250", "ASL260", "ASL290", "ASL300", "ASL301", "ASL302",
    ]
    assert all(
        list(r) == ["code", "name", "summary", "fix_safety", "enabled_by_default", "url", "explanation"] for r in rules
    )
    by_code = {r["code"]: r for r in rules}
    sleep = by_code["ASL200"]
    assert (sleep["name"], sleep["fix_safety"], sleep["enabled_by_default"]) == ("blocking-sleep", "safe", True)
    assert sleep["url"].endswith("/docs/rules.md#asl200-blocking-sleep")
    assert (by_code["ASL103"]["fix_safety"], by_code["ASL102"]["enabled_by_default"]) == (None, False)
    # the explanation is what `asynclint rule CODE` prints; the text listing is unchanged
    assert sleep["explanation"] == run("rule", "ASL200", cwd=tmp_path).stdout
    text = run("rules", cwd=tmp_path).stdout
    fixes = {r["code"]: f" [{r['fix_safety']} fix]" if r["fix_safety"] else "" for r in rules}
    assert text == "".join(f"{r['code']}  {r['name']:<28} {r['summary']}{fixes[r['code']]}\n" for r in rules)
    one = run("rule", "blocking-sleep", "--output-format=json", cwd=tmp_path)
    assert (one.returncode, json.loads(one.stdout)) == (0, sleep)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rules", "--output-format", "sarif"], "--output-format: invalid choice 'sarif' (choose from text, json)"),
        (["rule", "ASL200", "--output-format"], "--output-format: expected one argument"),
        (["rule", "--output-format", "json"], "usage: asynclint rule CODE [--output-format text|json]"),
        (["rules", "ASL200"], "usage: asynclint rules [--output-format text|json]"),
        (["rule", "ASL999", "--output-format", "json"], "unknown rule 'ASL999' (see 'asynclint rules')"),
    ],
)
def test_rules_command_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    out = run(*args, cwd=tmp_path)
    assert (out.returncode, out.stdout, out.stderr.splitlines()) == (2, "", [f"asynclint: {message}"])


# --- the configuration's JSON schema ----------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


def test_committed_schema_is_the_generated_one() -> None:
    from asynclint import config_schema

    assert config_schema.TARGET == REPO / "src" / "asynclint" / "data" / "asynclint.schema.json"
    assert config_schema.TARGET.read_text(encoding="utf-8") == config_schema.render(), (
        "stale: run python -m asynclint.config_schema"
    )
    check = subprocess.run(
        [sys.executable, "-m", "asynclint.config_schema", "--check"], capture_output=True, text=True, timeout=60
    )
    assert (check.returncode, check.stderr) == (0, "")


def _validator() -> object:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((REPO / "src" / "asynclint" / "data" / "asynclint.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _doc_tables() -> list[tuple[str, dict[str, object]]]:
    """The ``[tool.asynclint]`` tables of the TOML examples in README.md and docs/*.md."""
    from asynclint.config import tomllib  # tomli before Python 3.11

    found = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for block in re.findall(r"```toml\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.DOTALL):
            data = tomllib.loads(block)
            if "asynclint" in data.get("tool", {}):
                found.append((doc.name, data["tool"]["asynclint"]))
    return found


def test_the_documented_examples_and_every_key_validate() -> None:
    from asynclint.config import KEYS, config_from_mapping

    validator = _validator()
    tables = _doc_tables()
    assert "README.md" in {name for name, _ in tables}
    for name, table in tables:
        errors = [e.message for e in validator.iter_errors(table)]  # type: ignore[attr-defined]
        assert errors == [], (name, table)
    every = {
        "extend": "../pyproject.toml",
        "select": ["ASL"],
        "ignore": "ASL250",
        "extend-select": ["ASL102", "ASL104"],
        "per-file-ignores": {"scripts/*.py": ["ASL200"], "conftest.py": "ASL2"},
        "extend-per-file-ignores": {"tools/*.py": ["ASL210"]},
        "exclude": [],
        "extend-exclude": ["generated/"],
        "extra-blocking-calls": {"legacy_api.fetch_report": "legacy_api.afetch_report"},
        "fix-style": "run-in-executor",
        "target-version": "py38",
        "async-decorators": ["myapp.tasks.register"],
        "thread-entrypoints": ["jobs.background"],
        "lock-names": ["myapp.locks.named_lock"],
        "test-files": ["test_*.py", "tests"],
        "ignore-in-tests": ["ASL2"],
    }
    assert sorted(every) == sorted(KEYS)
    assert list(validator.iter_errors(every)) == []  # type: ignore[attr-defined]
    config_from_mapping({k: v for k, v in every.items() if k != "extend"}, REPO)  # asynclint agrees


@pytest.mark.parametrize(
    "table",
    [
        {"select": 3},
        {"select": ["ASL9"]},
        {"ignore": [200]},
        {"fix-style": "threads"},
        {"target-version": "3.8"},
        {"per-file-ignores": {"scripts/*.py": [True]}},
        {"extra-blocking-calls": {"legacy.fetch": ["legacy.afetch"]}},
        {"extend": ["../pyproject.toml"]},
        {"ignor": ["ASL200"]},
    ],
)
def test_a_wrong_value_fails_validation(table: dict[str, object]) -> None:
    assert list(_validator().iter_errors(table)) != []  # type: ignore[attr-defined]


# --- README papercuts ------------------------------------------------------------------------------------


def test_readme_pins_no_tag_that_does_not_exist() -> None:
    """pre-commit's ``rev:`` and the action's ``@ref`` in README.md: a placeholder for a commit, or a
    tag this repository has."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    tags = subprocess.run(["git", "tag", "--list"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    value = r"([^#\n]*?)\s*(?:#.*)?$"
    for doc in ("README.md", "docs/integrations.md"):
        text = (REPO / doc).read_text(encoding="utf-8")
        refs = re.findall(r"^\s*rev: " + value, text, flags=re.MULTILINE)
        refs += re.findall(r"uses: asynclint/asynclint@" + value, text, flags=re.MULTILINE)
        assert len(refs) == 2, (doc, refs)
        assert [ref for ref in refs if ref != "<commit sha>" and ref not in tags] == [], doc


def test_readme_flask_example_is_the_real_output() -> None:
    """The console block after ``$ asynclint examples/flask_app/app.py`` is what that command prints."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"```console\n\$ asynclint examples/flask_app/app.py\n(.*?)```", readme, flags=re.DOTALL)
    assert shown is not None
    out = run("--no-cache", "examples/flask_app/app.py", cwd=REPO)
    assert (out.returncode, out.stdout) == (1, shown.group(1))
