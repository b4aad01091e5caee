"""The flake8 plugin, run through flake8 itself: it agrees with the CLI finding for finding, reads its
options from flake8's configuration, leaves ``# noqa`` to flake8 and never fixes."""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from asynclint import __version__

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
FILES = sorted(FIXTURES.rglob("*.py"))
FORMAT = "%(path)s\t%(row)d\t%(col)d\t%(code)s\t%(text)s"

Row = tuple[str, int, int, str, str]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ASYNCLINT_")}


def flake8_command(*args: str, isolated: bool = True) -> list[str]:
    return [sys.executable, "-m", "flake8", *(["--isolated"] if isolated else []), f"--format={FORMAT}", *args]


def asynclint_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "asynclint", "--output-format", "json", *args]


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True, encoding="utf-8", timeout=600)


def flake8_rows(stdout: str, cwd: Path) -> Counter[Row]:
    rows: Counter[Row] = Counter()
    for line in stdout.splitlines():
        path, row, col, code, text = line.split("\t", 4)
        rows[str((cwd / path).resolve()), int(row), int(col), code, text] += 1
    return rows


def asynclint_rows(stdout: str, cwd: Path) -> Counter[Row]:
    return Counter(
        (str((cwd / f["path"]).resolve()), f["line"], f["column"], f["code"], f["message"]) for f in json.loads(stdout)
    )


def parses(path: Path) -> bool:
    """What flake8 needs before it runs a tree plugin (``ast.parse``, not ``compile``: a fixture may
    hold code the compiler rejects, such as ``return 1`` in an async generator)."""
    try:
        ast.parse(path.read_bytes(), str(path))
    except (SyntaxError, ValueError):
        return False
    return True


@pytest.fixture(scope="module")
def empty_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "asynclint.toml"
    path.write_text("", encoding="utf-8")
    return path


def test_flake8_agrees_with_the_cli_on_every_fixture(empty_config: Path) -> None:
    paths = [str(p.relative_to(REPO)) for p in FILES]
    before = {p: p.read_bytes() for p in FILES}
    # both tools at once: they do not share anything
    flake8 = subprocess.Popen(
        flake8_command("--select", "ASL", *paths), cwd=REPO, env=_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
    )
    cli = run(asynclint_command("--select", "ASL", "--config", str(empty_config), *paths), REPO)
    out, err = flake8.communicate(timeout=600)
    assert cli.stderr == "" and cli.returncode in (0, 1), cli.stderr
    assert err == "" and flake8.returncode in (0, 1), err
    expected = asynclint_rows(cli.stdout, REPO)
    # flake8 runs plugins only on files Python can parse; for the others it reports E999 itself
    unparsable = {str(p.resolve()) for p in FILES if not parses(p)}
    expected = Counter({row: n for row, n in expected.items() if row[0] not in unparsable})
    got = flake8_rows(out, REPO)
    assert sum(expected.values()) > 0, "the fixtures produce findings"
    missing, extra = expected - got, got - expected
    assert not missing and not extra, f"only the CLI: {sorted(missing)}\nonly flake8: {sorted(extra)}"
    assert {p: p.read_bytes() for p in FILES} == before, "the plugin never fixes"


SAMPLE = """\
# -*- coding: latin-1 -*-
import mylib
import requests
import time

# caf\u00e9: a latin-1 byte before the findings keeps columns honest
async def handler(url):
    r = requests.get(url)  # \u00e9\u00e9
    \u00e9 = mylib.fetch(url)
    time.sleep(1)  # noqa: ASL200
    time.sleep(2)  # noqa: E501
    return r, \u00e9
"""


def _write_sample(folder: Path) -> Path:
    path = folder / "app.py"
    path.write_bytes(SAMPLE.encode("latin-1"))
    return path


def test_options_from_flake8_config_reach_the_rules(tmp_path: Path) -> None:
    """The same settings from setup.cfg (flake8) and asynclint.toml (CLI) give the same findings;
    and they differ from the defaults (the settings have an effect)."""
    _write_sample(tmp_path)
    (tmp_path / "setup.cfg").write_text(
        "[flake8]\nselect = ASL\nasynclint-fix-style = run-in-executor\n"
        "asynclint-extra-blocking-calls =\n    mylib.fetch = mylib.afetch,\n    other.call=other.acall\n",
        encoding="utf-8",
    )
    (tmp_path / "asynclint.toml").write_text(
        'fix-style = "run-in-executor"\n[extra-blocking-calls]\n"mylib.fetch" = "mylib.afetch"\n"other.call" = "other.acall"\n',
        encoding="utf-8",
    )
    (tmp_path / "default.toml").write_text("", encoding="utf-8")
    flake8 = run(flake8_command("app.py", isolated=False), tmp_path)
    cli = run(asynclint_command("--select", "ASL", "app.py"), tmp_path)
    default = run(asynclint_command("--select", "ASL", "--config", "default.toml", "app.py"), tmp_path)
    assert flake8.stderr == "" and cli.stderr == "" and default.stderr == ""
    got = flake8_rows(flake8.stdout, tmp_path)
    want = asynclint_rows(cli.stdout, tmp_path)
    # flake8 applies '# noqa: ASL200' (line 10) itself; the E501 noqa on line 11 does not cover ASL200
    assert got == want
    codes = sorted((row[1], row[2], row[3]) for row in got)
    assert (9, 9, "ASL260") in codes and (11, 5, "ASL200") in codes and (8, 9, "ASL210") in codes
    assert not any(row[1] == 10 for row in got)
    assert got != asynclint_rows(default.stdout, tmp_path), "the settings changed nothing"


def test_noqa_is_left_to_flake8(tmp_path: Path) -> None:
    """The engine hides nothing in plugin mode: with --disable-noqa flake8 shows the noqa'd line."""
    _write_sample(tmp_path)
    normal = run(flake8_command("--select", "ASL200", "app.py"), tmp_path)
    disabled = run(flake8_command("--select", "ASL200", "--disable-noqa", "app.py"), tmp_path)
    assert sorted((r[1], r[3]) for r in flake8_rows(normal.stdout, tmp_path)) == [(11, "ASL200")]
    assert sorted((r[1], r[3]) for r in flake8_rows(disabled.stdout, tmp_path)) == [(10, "ASL200"), (11, "ASL200")]


def test_syntax_errors_are_flake8s_e999(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import time\n\nasync def f(:\n    time.sleep(1)\n", encoding="utf-8")
    flake8 = run(flake8_command("--select", "ASL,E999", "broken.py"), tmp_path)
    assert [(r[1], r[3]) for r in flake8_rows(flake8.stdout, tmp_path)] == [(3, "E999")]
    cli = run(asynclint_command("broken.py"), tmp_path)
    assert [(f["line"], f["code"]) for f in json.loads(cli.stdout)] == [(3, "ASL001")]


CONFIG_PROBE = """
import json
from flake8.api import legacy
from asynclint.flake8_plugin import AsyncLintChecker
legacy.get_style_guide()
c = AsyncLintChecker.config
print(json.dumps({k: getattr(c, k) for k in (
    "select", "extra_blocking_calls", "fix_style", "target_version", "async_decorators",
    "thread_entrypoints", "lock_names")}))
"""

CONFIG_TEXT = """\
[flake8]
asynclint-extra-blocking-calls = mylib.fetch=mylib.afetch, legacy.get = legacy.aget
asynclint-fix-style = run-in-executor
asynclint-target-version = py38
asynclint-async-decorators =
    myapp.handlers.route,
    myapp.tasks.job
asynclint-thread-entrypoints = myapp.pool.threaded
asynclint-lock-names = myapp.locks.make_lock
"""


@pytest.mark.parametrize("filename", ["setup.cfg", "tox.ini", ".flake8"])
def test_options_map_onto_config(tmp_path: Path, filename: str) -> None:
    (tmp_path / filename).write_text(CONFIG_TEXT, encoding="utf-8")
    proc = run([sys.executable, "-c", CONFIG_PROBE], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "select": ["ASL"],
        "extra_blocking_calls": {"mylib.fetch": "mylib.afetch", "legacy.get": "legacy.aget"},
        "fix_style": "run-in-executor",
        "target_version": "py38",
        "async_decorators": ["myapp.handlers.route", "myapp.tasks.job"],
        "thread_entrypoints": ["myapp.pool.threaded"],
        "lock_names": ["myapp.locks.make_lock"],
    }


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--asynclint-fix-style=threads",
         "asynclint: flake8 options: fix-style must be one of to-thread, run-in-executor, got 'threads'"),
        ("--asynclint-target-version=3.8",
         "asynclint: flake8 options: target-version: expected a value like 'py38' or 'py312', got '3.8'"),
        ("--asynclint-extra-blocking-calls=mylib.fetch",
         "asynclint: asynclint-extra-blocking-calls: expected NAME=REPLACEMENT, got 'mylib.fetch'"),
    ],
)
def test_bad_option_values_are_one_clear_error(tmp_path: Path, option: str, message: str) -> None:
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    proc = run(flake8_command(option, "app.py"), tmp_path)
    assert proc.returncode == 1
    # flake8 prints its critical errors on stdout
    assert (proc.stdout + proc.stderr).splitlines() == ["There was a critical error during execution of Flake8:", message]


def test_option_names_are_not_prefixes_of_other_options() -> None:
    """flake8's parser accepts abbreviations: an option that is a prefix of another would be ambiguous."""
    proc = run([sys.executable, "-m", "flake8", "--help"], REPO)
    assert proc.returncode == 0
    names = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", proc.stdout))
    ours = {n for n in names if n.startswith("--asynclint-")}
    assert ours == {
        "--asynclint-extra-blocking-calls", "--asynclint-fix-style", "--asynclint-target-version",
        "--asynclint-async-decorators", "--asynclint-thread-entrypoints", "--asynclint-lock-names",
        "--asynclint-no-cache",
    }
    for name in ours:
        assert not [other for other in names if other != name and other.startswith(name)], name
        assert not [other for other in names - ours if name.startswith(other)], name


def test_plugin_is_registered() -> None:
    proc = run([sys.executable, "-m", "flake8", "--version"], REPO)
    assert proc.returncode == 0
    assert re.search(rf"asynclint:\s+{re.escape(__version__)}\b", proc.stdout), proc.stdout


@pytest.mark.parametrize(
    ("args", "codes"),
    [
        ((), ["ASL100"]),
        (("--select", "ASL"), ["ASL100"]),
        (("--extend-select", "ASL104"), ["ASL104", "ASL100"]),
        (("--select", "ASL", "--extend-select", "ASL104"), ["ASL104", "ASL100"]),
        (("--select", "ASL104"), ["ASL104"]),
    ],
)
def test_off_by_default_rules_stay_off_under_flake8(tmp_path: Path, args: tuple[str, ...], codes: list[str]) -> None:
    (tmp_path / "app.py").write_text(
        "async def handler(x):\n    return x\n\n\nasync def _private():\n    return 1\n\n\n"
        "async def use():\n    return await _private()\n",
        encoding="utf-8",
    )
    out = run(flake8_command(*args, "app.py"), tmp_path)
    assert out.stderr == ""
    assert [line.split("\t")[3] for line in out.stdout.splitlines()] == codes, out.stdout


def test_the_plugin_does_no_work_when_flake8_reports_no_asl_code(tmp_path: Path) -> None:
    # flake8 runs every plugin whatever --select says; with no ASL code selected the plugin must not
    # parse files at all (a flake8 run with only E/W/F selected paid libcst's price per file)
    (tmp_path / "app.py").write_text("import time\n\n\nasync def handler():\n    time.sleep(1)\n")
    probe = (
        "import sys\n"
        "import asynclint.flake8_plugin as plugin\n"
        "def refuse(*a, **k):\n"
        "    raise SystemExit('asynclint linted a file although no ASL code is selected')\n"
        "plugin.prepare.lint_specs = refuse\n"
        "from flake8.main.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    for argv in (["--select", "E,W,F"], ["--ignore", "ASL"], ["--select", "E", "--extend-ignore", "ASL"]):
        quiet = run([sys.executable, "-c", probe, "-j", "1", *argv, "app.py"], tmp_path)
        assert "linted a file" not in quiet.stdout + quiet.stderr, argv
        assert "ASL" not in quiet.stdout
    # selected, it runs (and the probe shows that it would have noticed)
    loud = run([sys.executable, "-c", probe, "-j", "1", "--select", "ASL", "app.py"], tmp_path)
    assert "linted a file" in loud.stdout + loud.stderr
    normal = run([sys.executable, "-m", "flake8", "-j", "1", "--select", "ASL200", "app.py"], tmp_path)
    assert normal.stdout.startswith("app.py:5:5: ASL200")


def test_the_plugin_caches_findings_per_file_content(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text("import time\n\n\nasync def handler():\n    time.sleep(1)\n")
    env = {**_env(), "ASYNCLINT_CACHE_DIR": str(tmp_path / "cache")}

    def flake8(*args: str, refuse: bool = False) -> subprocess.CompletedProcess[str]:
        probe = (
            "import sys\n"
            "import asynclint.flake8_plugin as plugin\n"
            + ("plugin.prepare.lint_specs = lambda *a, **k: (_ for _ in ()).throw(SystemExit('linted again'))\n" if refuse else "")
            + "from flake8.main.cli import main\n"
            "main(sys.argv[1:])\n"
        )
        return subprocess.run([sys.executable, "-c", probe, "-j", "1", *args, "app.py"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)

    first = flake8("--select", "ASL")
    assert first.stdout.startswith("app.py:5:5: ASL200")
    assert len(list((tmp_path / "cache" / "flake8").glob("*.pickle"))) == 1
    assert (tmp_path / "cache" / "CACHEDIR.TAG").exists()
    # unchanged: answered from the cache (linting would end the run)
    again = flake8("--select", "ASL", refuse=True)
    assert again.stdout == first.stdout and "linted again" not in again.stderr
    # changed: linted again
    app.write_text("import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n")
    assert "linted again" in flake8("--select", "ASL", refuse=True).stderr
    assert flake8("--select", "ASL").stdout == ""
    # --asynclint-no-cache: neither read nor written
    app.write_text("import time\n\n\nasync def other():\n    time.sleep(2)\n")
    before = set((tmp_path / "cache" / "flake8").glob("*.pickle"))
    assert flake8("--select", "ASL", "--asynclint-no-cache").stdout.startswith("app.py:5:5: ASL200")
    assert set((tmp_path / "cache" / "flake8").glob("*.pickle")) == before


def test_files_the_gate_turns_away_cost_no_libcst(tmp_path: Path) -> None:
    """The plugin hands flake8's own tree to the gate: a file with nothing any rule could report
    is done without libcst (not even imported); a file with a finding is parsed as before."""
    (tmp_path / "clean.py").write_text("import asyncio\n\n\nasync def main():\n    await asyncio.sleep(1)\n")
    (tmp_path / "app.py").write_text("import time\n\n\nasync def handler():\n    time.sleep(1)\n")
    probe = (
        "import sys\n"
        "from flake8.main.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "finally:\n"
        "    print('libcst' in sys.modules, file=sys.stderr)\n"
    )
    env = {**os.environ, "ASYNCLINT_CACHE_DIR": str(tmp_path / "cache")}
    clean = subprocess.run([sys.executable, "-c", probe, "-j", "1", "--select", "ASL", "clean.py"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=300)
    assert (clean.stdout, clean.stderr.strip()) == ("", "False")
    both = subprocess.run([sys.executable, "-c", probe, "-j", "1", "--select", "ASL", "clean.py", "app.py"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert both.stdout.startswith("app.py:5:5: ASL200") and both.stderr.strip() == "True"
