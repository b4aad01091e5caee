"""ASL300 across the modules of one program: every writer of a shared file takes one lock.

Projects are written to a temporary folder and checked through the CLI (a subprocess), as a user
runs it; the behaviour test runs the program's threads before and after ``--fix``."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

CLI = [sys.executable, "-m", "asynclint"]

STORE = """\
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DATA = Path("data.json")


def add(key):
    data = json.loads(DATA.read_text()) if DATA.exists() else {}
    data[key] = data.get(key, 0) + 1
    DATA.write_text(json.dumps(data))


def serve(pool: ThreadPoolExecutor, n):
    return [pool.submit(add, "hits") for _ in range(n)]
"""

ROUTES = STORE.replace("def add(", "def bump(").replace("submit(add,", "submit(bump,")

MAIN = """\
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import routes
import store

# widen the window between the read and the write, as a slow disk would
_write_text = Path.write_text


def slow_write_text(self, text, *args, **kwargs):
    time.sleep(0.0005)
    return _write_text(self, text, *args, **kwargs)


Path.write_text = slow_write_text

if os.path.exists("data.json"):
    os.remove("data.json")
with ThreadPoolExecutor(8) as pool:
    futures = store.serve(pool, 100) + routes.serve(pool, 100)
failed = 0
for future in futures:
    try:
        future.result()
    except Exception:
        failed += 1
try:
    hits = json.loads(Path("data.json").read_text())["hits"]
except ValueError:
    hits = -1  # torn: two writes interleaved in the file itself
print(json.dumps({"hits": hits, "failed": failed}))
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, ".", "--select", "ASL300", "--no-cache", *args], cwd=root, capture_output=True, text=True, timeout=120
    )


def _run(root: Path) -> dict[str, int]:
    out = subprocess.run([sys.executable, "main.py"], cwd=root, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


def test_two_modules_writing_one_file_share_one_lock(tmp_path: Path) -> None:
    _write(tmp_path, {"store.py": STORE, "routes.py": ROUTES, "main.py": MAIN})
    before = _cli(tmp_path)
    lines = sorted(line.split(" ASL300 ")[0] for line in before.stdout.splitlines() if " ASL300 " in line)
    assert lines == ["routes.py:11:5:", "store.py:11:5:"]
    assert "`store.add()` (store.py:11) writes it too" in before.stdout
    # the race is real: lost updates (or torn reads) before the fix
    runs = [_run(tmp_path) for _ in range(2)]
    assert any(r["hits"] < 200 or r["failed"] for r in runs), runs

    fixed = _cli(tmp_path, "--fix", "--unsafe-fixes")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    # the first module by name owns the lock; the other imports that same lock
    assert (tmp_path / "routes.py").read_text() == textwrap.dedent(
        """\
        import json
        from concurrent.futures import ThreadPoolExecutor
        from pathlib import Path
        import threading

        _data_lock = threading.Lock()

        DATA = Path("data.json")


        def bump(key):
            with _data_lock:
                data = json.loads(DATA.read_text()) if DATA.exists() else {}
                data[key] = data.get(key, 0) + 1
                DATA.write_text(json.dumps(data))


        def serve(pool: ThreadPoolExecutor, n):
            return [pool.submit(bump, "hits") for _ in range(n)]
        """
    )
    assert (tmp_path / "store.py").read_text() == textwrap.dedent(
        """\
        import json
        from concurrent.futures import ThreadPoolExecutor
        from pathlib import Path
        import routes

        DATA = Path("data.json")


        def add(key):
            with routes._data_lock:
                data = json.loads(DATA.read_text()) if DATA.exists() else {}
                data[key] = data.get(key, 0) + 1
                DATA.write_text(json.dumps(data))


        def serve(pool: ThreadPoolExecutor, n):
            return [pool.submit(add, "hits") for _ in range(n)]
        """
    )
    for _ in range(3):
        assert _run(tmp_path) == {"hits": 200, "failed": 0}
    after = _cli(tmp_path)
    assert after.returncode == 0 and "All checks passed" in after.stdout, after.stdout
    assert _cli(tmp_path, "--fix", "--unsafe-fixes").stdout.strip() == "All checks passed!"


def test_an_existing_lock_of_another_module_is_imported(tmp_path: Path) -> None:
    locked_store = STORE.replace(
        "from pathlib import Path\n", "import threading\nfrom pathlib import Path\n\nDATA_LOCK = threading.Lock()\n"
    ).replace(
        "    data = json.loads(DATA.read_text()) if DATA.exists() else {}\n"
        "    data[key] = data.get(key, 0) + 1\n"
        "    DATA.write_text(json.dumps(data))\n",
        "    with DATA_LOCK:\n"
        "        data = json.loads(DATA.read_text()) if DATA.exists() else {}\n"
        "        data[key] = data.get(key, 0) + 1\n"
        "        DATA.write_text(json.dumps(data))\n",
    )
    # a package, a relative import between its modules
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/store.py": locked_store,
            "pkg/routes.py": ROUTES,
            "pkg/app.py": "from . import routes, store\n",
        },
    )
    before = _cli(tmp_path)
    assert [line.split(" ASL300 ")[0] for line in before.stdout.splitlines() if " ASL300 " in line] == ["pkg/routes.py:11:5:"]
    assert "take the same lock, `pkg.store.DATA_LOCK`" in before.stdout
    assert _cli(tmp_path, "--fix", "--unsafe-fixes").returncode == 0
    routes = (tmp_path / "pkg" / "routes.py").read_text()
    assert "import pkg.store\n" in routes and "    with pkg.store.DATA_LOCK:\n" in routes
    assert "threading" not in routes
    # an imported lock counts as a lock: the fixed module is clean
    assert "All checks passed" in _cli(tmp_path).stdout


def test_modules_that_import_each_other_share_the_lock_without_an_import_cycle(tmp_path: Path) -> None:
    # aroutes -> helpers -> store, and store takes aroutes' lock: a plain ``import aroutes`` (the
    # lock looked up when the function runs) imports in any order, where ``from aroutes import``
    # would fail on the half-initialised module
    _write(
        tmp_path,
        {
            "aroutes.py": ROUTES.replace("import json\n", "import json\n\nimport helpers  # noqa: F401\n"),
            "helpers.py": "import store  # noqa: F401\n",
            "store.py": STORE,
            "main.py": MAIN.replace("import routes", "import aroutes as routes"),
        },
    )
    assert _cli(tmp_path, "--fix", "--unsafe-fixes").returncode == 0
    assert "import aroutes\n" in (tmp_path / "store.py").read_text()
    for first in ("aroutes", "store", "helpers"):
        proc = subprocess.run([sys.executable, "-c", f"import {first}; import aroutes, store"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, (first, proc.stderr)
    assert _run(tmp_path) == {"hits": 200, "failed": 0}
    assert "All checks passed" in _cli(tmp_path).stdout


def test_a_namespace_folder_gets_no_cross_module_import(tmp_path: Path) -> None:
    # no __init__.py, modules linked by relative imports: their import names are unknown here
    _write(
        tmp_path,
        {
            "app/store.py": STORE,
            "app/routes.py": ROUTES,
            "app/main.py": "from .routes import serve\nfrom .store import serve as serve_store\n",
        },
    )
    out = _cli(tmp_path)
    assert "(a package without __init__.py: no fix)" in out.stdout, out.stdout
    _cli(tmp_path, "--fix", "--unsafe-fixes")
    assert "import routes" not in (tmp_path / "app" / "store.py").read_text()


def test_scripts_side_by_side_are_separate_programs(tmp_path: Path) -> None:
    # nothing imports both: each script is its own process, each keeps its own lock
    _write(tmp_path, {"store.py": STORE, "routes.py": ROUTES})
    out = _cli(tmp_path)
    assert "writes it too" not in out.stdout
    _cli(tmp_path, "--fix", "--unsafe-fixes")
    for name in ("store.py", "routes.py"):
        text = (tmp_path / name).read_text()
        assert "_data_lock = threading.Lock()" in text and "from routes" not in text


def test_two_locks_for_one_file_are_reported(tmp_path: Path) -> None:
    writer = """\
        import threading
        from flask import Flask

        app = Flask(__name__)
        {lock} = threading.Lock()


        @app.post("/{name}")
        def {name}():
            with {lock}:
                with open("log.txt", "w") as fh:
                    fh.write("{name}")
                    fh.write("\\n")
            return "ok"
        """
    _write(
        tmp_path,
        {
            "a.py": writer.format(lock="A_LOCK", name="a"),
            "b.py": writer.format(lock="B_LOCK", name="b"),
            "c.py": writer.format(lock="C_LOCK", name="c").replace("C_LOCK = threading.Lock()", "from a import A_LOCK as C_LOCK"),
            "wsgi.py": "import a, b, c\n",
        },
    )
    out = _cli(tmp_path)
    findings = [line for line in out.stdout.splitlines() if " ASL300 " in line]
    # b's own lock does not exclude a's; c imports a's lock under another name: the same lock
    assert len(findings) == 1 and findings[0].startswith("b.py:11:14: ASL300"), out.stdout
    assert "under `B_LOCK`, but `a.a()` (a.py:11) writes it under `a.A_LOCK`" in findings[0]
    assert "[*]" not in findings[0]
