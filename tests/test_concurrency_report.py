"""``asynclint concurrency``: the entry points of a project, as text and JSON, through the CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

APP = '''\
import json
import pathlib
import threading

from flask import Flask

app = Flask(__name__)
STATE = pathlib.Path("state.json")
HITS = 0
_state_lock = threading.Lock()


@app.post("/hit")
def hit():
    global HITS
    HITS += 1
    with _state_lock:
        data = json.loads(STATE.read_text())
        STATE.write_text(json.dumps(data))
    return "ok"


@app.before_request
def log_request():
    with open("requests.log", "a") as fh:
        fh.write("request\\n")


def helper():
    pass
'''

API = '''\
from fastapi import Depends, FastAPI

api = FastAPI()
POOL = {}


def get_db():
    POOL["n"] = POOL.get("n", 0) + 1
    return POOL


@api.get("/items")
async def items(db=Depends(get_db)):
    return db
'''


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCLINT_")}
    return subprocess.run([sys.executable, "-m", "asynclint", *args], cwd=cwd, capture_output=True, text=True, env=env)


def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.asynclint]\n")
    (tmp_path / "gunicorn.conf.py").write_text("threads = 8\nworkers = 2\n")
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "api.py").write_text(API)
    return tmp_path


def test_text_report(tmp_path: Path) -> None:
    proc = cli("concurrency", ".", cwd=project(tmp_path))
    assert (proc.returncode, proc.stderr) == (0, "")
    gunicorn = "8 at a time in each of 2 processes (gunicorn.conf.py; threads share module state, processes do not)"
    assert proc.stdout == (
        "api.py:7: get_db() [threaded] FastAPI Depends(...) (a sync dependency) (line 13)\n"
        "    runs on: the FastAPI/Starlette thread pool for sync endpoints; up to 40 at a time (anyio's default thread limiter)\n"
        "    writes module state: POOL\n"
        "    locks: none\n"
        "api.py:13: items() [async] FastAPI @api.get (line 12)\n"
        "    runs on: the event loop (one thread; a blocking call stalls every request)\n"
        "    locks: none\n"
        "app.py:14: hit() [threaded] Flask @app.post (line 13)\n"
        f"    runs on: the WSGI server's threads (gunicorn --threads, the Flask development server); {gunicorn}\n"
        "    writes module state: HITS\n"
        "    writes files: state.json\n"
        "    locks: _state_lock\n"
        "app.py:24: log_request() [threaded] Flask @app.before_request (line 23)\n"
        f"    runs on: the WSGI server's threads (gunicorn --threads, the Flask development server); {gunicorn}\n"
        "    writes files: requests.log\n"
        "    locks: none\n"
        "4 entry points: 3 threaded, 1 async.\n"
    )


def test_json_report(tmp_path: Path) -> None:
    proc = cli("concurrency", "--output-format", "json", "app.py", cwd=project(tmp_path))
    assert proc.returncode == 0
    entries = json.loads(proc.stdout)
    assert [(e["function"], e["kind"], e["framework"], e["writes_state"], e["writes_files"], e["locks"]) for e in entries] == [
        ("hit", "threaded", "Flask", ["HITS"], ["state.json"], ["_state_lock"]),
        ("log_request", "threaded", "Flask", [], ["requests.log"], []),
    ]
    assert entries[0]["path"] == "app.py" and entries[0]["line"] == 14
    assert entries[0]["registered"] == "@app.post (line 13)"
    assert entries[0]["at_once"].startswith("8 at a time in each of 2 processes")


def test_nothing_found_and_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text("def f():\n    return 1\n")
    proc = cli("concurrency", "plain.py", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "No threaded or async entry points found.\n")
    proc = cli("concurrency", "plain.py", "missing.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == "asynclint: missing.py: no such file or directory\n"
