"""The result cache: hits, what invalidates an entry, where it lives, and that it is safe to share."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from asynclint import engine, parallel, registry
from asynclint.config import Config

CLI = [sys.executable, "-m", "asynclint"]

BLOCKING = "import time\n\n\nasync def handler():\n    time.sleep(1)\n"


def _options(root: Path, cache: bool = True) -> parallel.Options:
    config = Config(root=root)
    return parallel.Options(config=config, codes=tuple(r.code for r in registry.enabled_rules(config)), cache=cache)


def _findings(root: Path, paths: list[Path], options: parallel.Options) -> list[tuple[str, int, str, str]]:
    out = []
    for outcome in parallel.run_files(paths, options, jobs=1):
        assert outcome.result is not None
        out.extend((Path(f.path).name, f.line, f.code, f.message) for f in outcome.result.findings)
    return out


def test_an_unchanged_file_is_answered_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = tmp_path / "app.py"
    app.write_text(BLOCKING)
    first = _findings(tmp_path, [app], _options(tmp_path))
    assert [f[:3] for f in first] == [("app.py", 5, "ASL200")]

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("linted again although nothing changed")

    monkeypatch.setattr(engine, "lint_bytes", refuse)
    assert _findings(tmp_path, [app], _options(tmp_path)) == first


def test_a_changed_file_is_linted_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = tmp_path / "app.py"
    app.write_text(BLOCKING)
    _findings(tmp_path, [app], _options(tmp_path))
    app.write_text(BLOCKING.replace("time.sleep(1)", "await asyncio.sleep(1)").replace("import time", "import asyncio"))
    assert _findings(tmp_path, [app], _options(tmp_path)) == []


def test_another_configuration_has_its_own_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = tmp_path / "app.py"
    app.write_text(BLOCKING)
    _findings(tmp_path, [app], _options(tmp_path))
    config = Config(root=tmp_path, ignore=["ASL200"])
    options = parallel.Options(config=config, codes=tuple(r.code for r in registry.enabled_rules(config)), cache=True)
    assert _findings(tmp_path, [app], options) == []


def test_a_change_in_a_file_the_findings_depend_on_invalidates_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ASL300 names the other module that writes the same file: editing that module changes the message
    monkeypatch.chdir(tmp_path)
    writer = textwrap.dedent(
        """\
        import json
        from concurrent.futures import ThreadPoolExecutor
        from pathlib import Path

        DATA = Path("data.json")


        def {name}(key):
            data = json.loads(DATA.read_text())
            data[key] = 1
            DATA.write_text(json.dumps(data))


        def serve(pool: ThreadPoolExecutor):
            pool.submit({name}, "k")
        """
    )
    (tmp_path / "store.py").write_text(writer.format(name="add"))
    (tmp_path / "routes.py").write_text(writer.format(name="bump"))
    (tmp_path / "main.py").write_text("import routes\nimport store\n")
    routes = tmp_path / "routes.py"
    before = _findings(tmp_path, [routes], _options(tmp_path))
    assert len(before) == 1 and "`store.add()` (store.py:11) writes it too" in before[0][3]
    (tmp_path / "store.py").write_text(writer.format(name="add").replace('Path("data.json")', 'Path("other.json")'))
    after = _findings(tmp_path, [routes], _options(tmp_path))
    assert len(after) == 1 and "writes it too" not in after[0][3]
    # and a concurrency setting created next to the module changes its message too
    (tmp_path / "gunicorn.conf.py").write_text("threads = 8\n")
    flask = tmp_path / "views.py"
    flask.write_text(
        "from flask import Flask\n\napp = Flask(__name__)\nHITS = 0\n\n\n@app.post('/')\ndef hit():\n"
        "    global HITS\n    HITS += 1\n    return 'ok'\n"
    )
    # (each run a process of its own, as from the command line: settings files are read once per process)
    first = subprocess.run([*CLI, "views.py"], cwd=tmp_path, capture_output=True, text=True)
    assert "8 at a time" in first.stdout
    (tmp_path / "gunicorn.conf.py").write_text("threads = 4\n")
    second = subprocess.run([*CLI, "views.py"], cwd=tmp_path, capture_output=True, text=True)
    assert "4 at a time" in second.stdout


def test_the_cache_folder_and_its_switches(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(BLOCKING)
    (tmp_path / "pyproject.toml").write_text("[tool.asynclint]\n")
    run = subprocess.run([*CLI, "."], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 1 and "ASL200" in run.stdout
    folder = tmp_path / ".asynclint_cache"
    assert (folder / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    entries = list(folder.glob("*.pickle"))
    assert len(entries) == 1
    # a corrupt entry is ignored (and rewritten)
    entries[0].write_bytes(b"not a pickle")
    again = subprocess.run([*CLI, "."], cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 1 and again.stdout == run.stdout and again.stderr == ""
    assert isinstance(pickle.loads(entries[0].read_bytes()), dict)
    # --no-cache reads and writes nothing; ASYNCLINT_CACHE_DIR moves the folder
    other = tmp_path / "elsewhere"
    subprocess.run([*CLI, "--no-cache", "."], cwd=tmp_path, capture_output=True, env={**os.environ, "ASYNCLINT_CACHE_DIR": str(other)})
    assert not other.exists()
    subprocess.run([*CLI, "."], cwd=tmp_path, capture_output=True, env={**os.environ, "ASYNCLINT_CACHE_DIR": str(other)})
    assert len(list(other.glob("*.pickle"))) == 1


def test_two_runs_may_share_the_cache(tmp_path: Path) -> None:
    for i in range(20):
        (tmp_path / f"m{i}.py").write_text(BLOCKING)
    (tmp_path / "pyproject.toml").write_text("[tool.asynclint]\n")
    runs = [subprocess.Popen([*CLI, ".", "--jobs", "1"], cwd=tmp_path, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate()[0] for p in runs]
    assert all(p.returncode == 1 for p in runs)
    assert len(set(outputs)) == 1 and outputs[0].count("ASL200") == 20
    entries = list((tmp_path / ".asynclint_cache").glob("*.pickle"))
    assert len(entries) == 1 and len(pickle.loads(entries[0].read_bytes())) == 20
    assert not list((tmp_path / ".asynclint_cache").glob(".tmp-*"))


def test_code_fingerprint_changes_with_the_code(tmp_path: Path) -> None:
    """A checkout that changes asynclint's code (same version number) must not reuse results."""
    from asynclint.cache import fingerprint_of

    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.py").write_text("x = 1\n")
    (tmp_path / "__pycache__").mkdir()
    before = fingerprint_of(tmp_path)
    (tmp_path / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert fingerprint_of(tmp_path) == before
    (tmp_path / "rules" / "a.py").write_text("x = 22\n")
    assert fingerprint_of(tmp_path) != before


def test_a_run_the_cache_answers_never_imports_libcst(tmp_path: Path) -> None:
    """The warm path: selection from the static rule table, outcomes unpickled from libcst-free
    classes; libcst (the parser) is imported only when some file must be linted."""
    (tmp_path / "app.py").write_text(BLOCKING)
    env = {**os.environ, "ASYNCLINT_CACHE_DIR": str(tmp_path / "cache")}
    probe = (
        "import sys\n"
        "from asynclint.cli import main\n"
        "try:\n"
        "    main(['app.py'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('libcst' in sys.modules, file=sys.stderr)\n"
    )
    runs = [subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True) for _ in range(2)]
    assert [r.stderr.strip() for r in runs] == ["True", "False"]
    assert runs[0].stdout == runs[1].stdout and "ASL200" in runs[1].stdout
