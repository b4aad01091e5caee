"""Races under real servers, on loopback: the handler runs as the server runs it, many requests at
once; before ``asynclint --fix --unsafe-fixes`` updates are lost or requests fail on a torn file,
after it none are, in repeated runs, and asynclint reports the fixed code clean.

Each case starts its server as a subprocess bound to 127.0.0.1 on a free port and sends REQUESTS
POSTs from CLIENTS client threads. The handlers sleep a millisecond between reading and writing
(standing for real work: a lookup, a log call), which makes the race window wide enough to show
in a few hundred requests.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import pytest

REQUESTS = 300
CLIENTS = 16

FLASK_FILE_APP = textwrap.dedent(
    '''\
    import json
    import pathlib
    import time

    from flask import Flask

    app = Flask(__name__)
    STATE = pathlib.Path(__file__).with_name("state.json")


    @app.post("/hit")
    def hit():
        data = json.loads(STATE.read_text())
        time.sleep(0.001)
        data["count"] = data.get("count", 0) + 1
        STATE.write_text(json.dumps(data))
        return str(data["count"])
    '''
)


FASTAPI_APP = textwrap.dedent(
    '''\
    import time

    from fastapi import FastAPI

    app = FastAPI()
    COUNTS = {"hits": 0}


    @app.post("/hit")
    def hit():
        n = COUNTS["hits"]
        time.sleep(0.001)
        COUNTS["hits"] = n + 1
        return n


    @app.get("/count")
    def count():
        return COUNTS["hits"]
    '''
)

AZURE_APP = textwrap.dedent(
    '''\
    import time

    import azure.functions as func

    app = func.FunctionApp()
    HITS = 0


    def _pause():
        time.sleep(0.001)
        return 1


    @app.route(route="hit", methods=["POST"])
    def hit(req: func.HttpRequest) -> func.HttpResponse:
        global HITS
        HITS += _pause()
        return func.HttpResponse(str(HITS))
    '''
)

#: calls the app's functions as the Python worker does: sync functions on a ThreadPoolExecutor
#: sized like PYTHON_THREADPOOL_THREAD_COUNT's default (min(32, CPUs + 4)), with HttpRequest objects
AZURE_DRIVER = textwrap.dedent(
    '''\
    import os
    import sys
    from concurrent.futures import ThreadPoolExecutor

    import azure.functions as func

    sys.setswitchinterval(1e-5)
    import function_app

    handler = next(f for f in function_app.app.get_functions() if f.get_function_name() == "hit")
    user_function = handler.get_user_function()
    requests = int(sys.argv[1])
    threads = min(32, (os.cpu_count() or 1) + 4)

    def call(i):
        request = func.HttpRequest(method="POST", url="/api/hit", body=b"", headers={})
        return user_function(request).status_code

    with ThreadPoolExecutor(max_workers=threads) as pool:
        statuses = list(pool.map(call, range(requests)))
    print(sum(1 for s in statuses if s != 200), function_app.HITS)
    '''
)


def _asynclint(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCLINT_")}
    return subprocess.run(
        [sys.executable, "-m", "asynclint", "--no-cache", *args], cwd=cwd, capture_output=True, text=True, env=env
    )


class Server:
    """A server subprocess on 127.0.0.1; the port is read from its log."""

    def __init__(self, cmd: list[str], cwd: Path, listening: re.Pattern[str]) -> None:
        # the log goes to a file: a pipe nobody reads fills up with 500 tracebacks and stalls the server
        self.log = cwd / f"server-{time.monotonic_ns()}.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            found = listening.search(self.log.read_text(errors="replace"))
            if found:
                self.port = int(found.group(1))
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("server did not start:\n" + self.log.read_text(errors="replace"))
            time.sleep(0.05)

    def post(self, path: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("POST", path, body=b"")
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _hammer(server: Server, path: str) -> list[int]:
    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(lambda _: server.post(path), range(REQUESTS)))


def _gunicorn(folder: Path) -> Server:
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    cmd = [gunicorn, "--worker-class", "gthread", "--threads", "8", "--workers", "1",
           "--bind", "127.0.0.1:0", "--log-level", "info", "app:app"]
    return Server(cmd, folder, re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)"))


def _flask_file_round(folder: Path) -> tuple[int, int]:
    """(failed requests, final count) for one run of REQUESTS POSTs against a fresh state file."""
    (folder / "state.json").write_text("{}")
    server = _gunicorn(folder)
    try:
        statuses = _hammer(server, "/hit")
    finally:
        server.stop()
    try:
        count = json.loads((folder / "state.json").read_text()).get("count", 0)
    except ValueError:
        count = -1  # the file itself was left torn
    return sum(1 for s in statuses if s != 200), count


def _prove(
    folder: Path, app: str, finding: str, race_round: Callable[[Path], tuple[int, int]], locked: str, label: str
) -> None:
    """The finding is reported; before the fix some requests fail or updates are lost; the fix
    takes the lock as ``locked`` shows; after it, two runs are exact and asynclint is clean."""
    found = _asynclint("--select", "ASL3", app, cwd=folder)
    assert found.returncode == 1
    assert found.stdout.splitlines()[0].startswith(finding), found.stdout
    before = race_round(folder)
    failed, count = before
    assert failed > 0 or count < REQUESTS, before

    fixed = _asynclint("--select", "ASL3", "--fix", "--unsafe-fixes", app, cwd=folder)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert locked in (folder / app).read_text()
    assert _asynclint(app, cwd=folder).returncode == 0
    assert _asynclint("--select", "ASL3", app, cwd=folder).returncode == 0
    for _ in range(2):
        assert race_round(folder) == (0, REQUESTS), f"before the fix: {before}"
    print(f"{label}: before {before} (failed, count); after (0, {REQUESTS})")


@pytest.mark.server
def test_flask_file_read_modify_write_under_gunicorn_gthread(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(FLASK_FILE_APP)
    _prove(
        tmp_path,
        "app.py",
        "app.py:16:5: ASL300 `STATE.read_text()` at line 13 and `STATE.write_text(json.dumps(data))` at line 16 "
        "read and write back the shared file `STATE` in `hit()`",
        _flask_file_round,
        "    with _state_lock:\n        data = json.loads(STATE.read_text())\n        time.sleep(0.001)\n"
        "        data[\"count\"] = data.get(\"count\", 0) + 1\n        STATE.write_text(json.dumps(data))\n    return",
        "flask+gunicorn gthread file read-modify-write",
    )


def _uvicorn(folder: Path) -> Server:
    cmd = [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", "0", "--log-level", "info"]
    return Server(cmd, folder, re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)"))


def _fastapi_round(folder: Path) -> tuple[int, int]:
    server = _uvicorn(folder)
    try:
        statuses = _hammer(server, "/hit")
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("GET", "/count")
        count = json.loads(conn.getresponse().read())
        conn.close()
    finally:
        server.stop()
    return sum(1 for s in statuses if s != 200), count


@pytest.mark.server
def test_fastapi_def_endpoint_under_uvicorn(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(FASTAPI_APP)
    _prove(
        tmp_path,
        "app.py",
        "app.py:13:5: ASL302 `n = COUNTS[\"hits\"]` at line 11 reads module-level `COUNTS` and "
        "`COUNTS[\"hits\"] = n + 1` at line 13 stores it in `hit()`, which runs on the FastAPI/Starlette thread pool",
        _fastapi_round,
        "    with _counts_lock:\n        n = COUNTS[\"hits\"]\n        time.sleep(0.001)\n        COUNTS[\"hits\"] = n + 1\n",
        "fastapi def endpoint under uvicorn",
    )


def _azure_round(folder: Path) -> tuple[int, int]:
    proc = subprocess.run(
        [sys.executable, "driver.py", str(REQUESTS)], cwd=folder, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    failed, hits = proc.stdout.split()
    return int(failed), int(hits)


@pytest.mark.server
def test_azure_functions_handler_on_the_worker_thread_pool(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text(AZURE_APP)
    (tmp_path / "driver.py").write_text(AZURE_DRIVER)
    _prove(
        tmp_path,
        "function_app.py",
        "function_app.py:17:5: ASL302 `HITS += _pause()` is a non-atomic read-modify-write of module-level `HITS` in "
        "`hit()`, which runs on the Azure Functions worker thread pool",
        _azure_round,
        "    with _hits_lock:\n        HITS += _pause()\n",
        "azure functions handler on the worker pool",
    )


FLASK_MODULES = {
    "app.py": '''\
        from flask import Flask

        app = Flask(__name__)

        import orders  # noqa: E402,F401  (the routes register themselves on `app`)
        import stats  # noqa: E402,F401
        ''',
    "orders.py": '''\
        import json
        import pathlib
        import time

        from flask import jsonify

        from app import app

        STATE = pathlib.Path(__file__).with_name("state.json")


        @app.post("/orders")
        def add_order():
            data = json.loads(STATE.read_text())
            time.sleep(0.001)
            data["count"] = data.get("count", 0) + 1
            STATE.write_text(json.dumps(data))
            return jsonify(data)
        ''',
}
FLASK_MODULES["stats.py"] = FLASK_MODULES["orders.py"].replace('"/orders"', '"/hit"').replace("add_order", "hit")


def _flask_modules_round(folder: Path) -> tuple[int, int]:
    """Half the POSTs to each module's route, both writing one state file."""
    (folder / "state.json").write_text("{}")
    server = _gunicorn(folder)
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = list(pool.map(lambda i: server.post("/orders" if i % 2 else "/hit"), range(REQUESTS)))
    finally:
        server.stop()
    try:
        count = json.loads((folder / "state.json").read_text()).get("count", 0)
    except ValueError:
        count = -1
    return sum(1 for s in statuses if s != 200), count


@pytest.mark.server
def test_flask_routes_in_two_modules_share_one_lock_under_gunicorn(tmp_path: Path) -> None:
    for name, text in FLASK_MODULES.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    found = _asynclint("--select", "ASL3", ".", cwd=tmp_path)
    assert [line.split(" ASL300 ")[0] for line in found.stdout.splitlines() if " ASL300 " in line] == [
        "orders.py:17:5:",
        "stats.py:17:5:",
    ], found.stdout
    before = _flask_modules_round(tmp_path)
    assert before[0] > 0 or before[1] < REQUESTS, before

    fixed = _asynclint("--select", "ASL3", "--fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    # one lock for both modules: orders (first by name) creates it, stats imports it
    assert "_state_lock = threading.Lock()" in (tmp_path / "orders.py").read_text()
    stats = (tmp_path / "stats.py").read_text()
    assert "import orders\n" in stats and "with orders._state_lock:" in stats and "threading" not in stats
    assert _asynclint(".", cwd=tmp_path).returncode == 0
    for _ in range(2):
        assert _flask_modules_round(tmp_path) == (0, REQUESTS), f"before the fix: {before}"
    print(f"flask routes in two modules under gunicorn: before {before} (failed, count); after (0, {REQUESTS})")
