"""ASL290 through the real CLI: chains across a project's modules when one file is named, into a
package installed in another environment, results re-checked when a helper module changes, and the
analysis itself kept out of libcst (the gate runs it on CPython's tree)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import asynclint


def _run(args: list[str], cwd: Path, python: str = sys.executable, env: dict[str, str] | None = None) -> list[dict]:
    proc = subprocess.run(
        [python, "-m", "asynclint", "--select", "ASL290", "--output-format", "json", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


SRC_LAYOUT = {
    "pyproject.toml": "[project]\nname = 'shop'\n",
    "src/shop/__init__.py": "",
    "src/shop/settings.py": """
        import json

        def read_config(path):
            with open(path) as fh:
                return json.load(fh)

        def defaults():
            return {"debug": False}
        """,
    "src/shop/services/__init__.py": "",
    "src/shop/services/catalog.py": """
        from ..settings import read_config

        def load_catalog():
            return read_config("catalog.json")
        """,
    "src/shop/api.py": """
        import asyncio

        from shop.services import catalog
        from shop.settings import defaults

        async def list_products():
            products = catalog.load_catalog()
            await asyncio.sleep(0)
            return products, defaults()
        """,
}


def test_one_named_file_reaches_its_project_modules(tmp_path: Path) -> None:
    _write(tmp_path, SRC_LAYOUT)
    found = _run(["--no-cache", "src/shop/api.py"], tmp_path)
    assert [(f["line"], f["code"]) for f in found] == [(8, "ASL290")]
    message = found[0]["message"]
    assert message.startswith("`catalog.load_catalog()` blocks the event loop: catalog.load_catalog() -> read_config() -> open() at ")
    assert "settings.py:5" in message  # the text starts with an empty line
    assert found[0]["fix"]["safety"] == "unsafe"


def test_a_changed_helper_module_is_checked_again(tmp_path: Path) -> None:
    """The cached result of api.py depends on the modules its chain went through."""
    _write(tmp_path, SRC_LAYOUT)
    env = {"ASYNCLINT_CACHE_DIR": str(tmp_path / "cache")}
    assert len(_run(["src/shop/api.py"], tmp_path, env=env)) == 1
    settings = tmp_path / "src" / "shop" / "settings.py"
    settings.write_text("def read_config(path):\n    return {}\n\ndef defaults():\n    return {}\n")
    assert _run(["src/shop/api.py"], tmp_path, env=env) == []
    settings.write_text(textwrap.dedent(SRC_LAYOUT["src/shop/settings.py"]))
    assert len(_run(["src/shop/api.py"], tmp_path, env=env)) == 1


def test_a_chain_into_a_package_installed_in_another_environment(tmp_path: Path) -> None:
    """A virtual environment of its own, with a small package installed into its site-packages
    (and asynclint's own environment reachable through a .pth file): the chain goes into the
    package's source, and a pure function of the same package is not reported."""
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # asynclint and libcst from the environment running the tests
    ours = {str(Path(asynclint.__file__).resolve().parent.parent), sysconfig.get_paths()["purelib"]}
    (site / "_asynclint_test.pth").write_text("\n".join(sorted(ours)) + "\n")
    _write(
        site,
        {
            "tokensdk/__init__.py": """
                from .cache import token_from_disk

                def version():
                    return "1.0"
                """,
            "tokensdk/cache.py": """
                import os

                def token_from_disk(name):
                    return _read(os.path.join("~/.tokens", name))

                def _read(path):
                    with open(os.path.expanduser(path)) as fh:
                        return fh.read()
                """,
        },
    )
    project = tmp_path / "project"
    _write(
        project,
        {
            "app.py": """
                import tokensdk

                async def handler():
                    token = tokensdk.token_from_disk("api")
                    return token, tokensdk.version()
                """
        },
    )
    found = _run(["--no-cache", "app.py"], project, python=str(python))
    assert [(f["line"], f["code"]) for f in found] == [(5, "ASL290")]
    assert "tokensdk.token_from_disk() -> _read() -> open() at tokensdk/cache.py:8" in found[0]["message"]
    # the same project linted without that environment: the package is not there, nothing is known
    assert _run(["--no-cache", "app.py"], project) == []


def test_a_coroutine_whose_helpers_do_not_block_never_loads_libcst(tmp_path: Path) -> None:
    _write(tmp_path, SRC_LAYOUT)
    (tmp_path / "src" / "shop" / "api.py").write_text(
        "from shop.settings import defaults\n\nasync def f():\n    return defaults()\n"
    )
    probe = (
        "import sys\n"
        "from asynclint.cli import main\n"
        "try:\n"
        "    main(['--no-cache', '--select', 'ASL290', 'src/shop/api.py'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('libcst' in sys.modules, file=sys.stderr)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert run.stderr.strip() == "False", run.stderr
    assert "All checks passed" in run.stdout


def test_the_fix_runs_the_helper_on_a_thread_and_keeps_behaviour(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app.py": """
                import asyncio
                import json

                def read_config(path):
                    with open(path) as fh:
                        return json.load(fh)

                async def main():
                    config = read_config("config.json")
                    print(config["name"])

                asyncio.run(main())
                """,
            "config.json": '{"name": "shop"}',
        },
    )
    before = subprocess.run([sys.executable, "app.py"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    proc = subprocess.run(
        [sys.executable, "-m", "asynclint", "--no-cache", "--select", "ASL290", "--fix", "--unsafe-fixes", "app.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (tmp_path / "app.py").read_text()
    assert '    config = await asyncio.to_thread(read_config, "config.json")\n' in text
    after = subprocess.run([sys.executable, "app.py"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert before == after == "shop\n"
    assert _run(["--no-cache", "app.py"], tmp_path) == []


def test_module_summaries_are_kept_by_content_and_a_corrupt_one_is_ignored(tmp_path: Path, monkeypatch) -> None:
    import ast

    from asynclint import callgraph

    _write(tmp_path / "project", SRC_LAYOUT)
    api = tmp_path / "project" / "src" / "shop" / "api.py"
    tree = ast.parse(api.read_bytes())
    monkeypatch.setattr(callgraph, "_summaries", {})
    monkeypatch.setattr(callgraph, "_files", {})
    callgraph.use_store(tmp_path / "cache")
    try:
        first = callgraph.coroutine_findings(tree, str(api))
        stored = sorted((tmp_path / "cache" / "summaries").glob("*.pickle"))
        assert len(stored) == 2  # catalog.py and settings.py, the modules of the chain

        summarised: list[str] = []
        real = callgraph.summarise
        monkeypatch.setattr(callgraph, "summarise", lambda tree, name, *a, **k: summarised.append(name) or real(tree, name, *a, **k))
        monkeypatch.setattr(callgraph, "_summaries", {})
        again = callgraph.coroutine_findings(tree, str(api))
        assert again == first and summarised == ["shop.api"]  # only the linted module itself

        for entry in stored:
            entry.write_bytes(b"not a pickle")
        monkeypatch.setattr(callgraph, "_summaries", {})
        summarised.clear()
        assert callgraph.coroutine_findings(tree, str(api)) == first
        assert "shop.settings" in summarised
    finally:
        callgraph.use_store(None)
