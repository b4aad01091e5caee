"""ASL3xx messages say how many copies of a handler run at once where the project's configuration
says so: local.settings.json (Azure Functions), gunicorn.conf.py or a gunicorn command line in a
Procfile/Dockerfile/startup script, anyio's thread limiter (FastAPI)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FLASK = "from flask import Flask\napp = Flask(__name__)\nHITS = 0\n\n\n@app.post('/')\ndef hit():\n    global HITS\n    HITS += 1\n    return 'ok'\n"
AZURE = (
    "import azure.functions as func\napp = func.FunctionApp()\nHITS = 0\n\n\n@app.route(route='hit')\n"
    "def hit(req):\n    global HITS\n    HITS += 1\n    return 'ok'\n"
)
FASTAPI = "from fastapi import FastAPI\napp = FastAPI()\nHITS = 0\n\n\n@app.post('/')\ndef hit():\n    global HITS\n    HITS += 1\n"


def message(tmp_path: Path, source: str, files: dict[str, str]) -> str:
    (tmp_path / "pyproject.toml").write_text("[tool.asynclint]\n")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCLINT_")}
    proc = subprocess.run(
        [sys.executable, "-m", "asynclint", "--no-cache", "--select", "ASL302", "app"],
        cwd=tmp_path, capture_output=True, text=True, env=env,
    )
    assert proc.returncode == 1, proc.stderr
    line = proc.stdout.splitlines()[0]
    assert line.startswith("app/main.py:9:5: ASL302 ")
    return line.split(" at line ", 1)[1].split(": concurrent calls", 1)[0]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"gunicorn.conf.py": "threads = 8\nworkers = 4\n"},
         "6, 8 at a time in each of 4 processes (gunicorn.conf.py; threads share module state, processes do not)"),
        ({"gunicorn.conf.py": "worker_class = 'sync'\nworkers = 3\n"},
         "6, one at a time per process (gunicorn.conf.py; other servers, such as `flask run`, use threads)"),
        ({"gunicorn.conf.py": "worker_class = 'gevent'\nworkers = 3\n"}, "6"),
        ({"Procfile": "web: gunicorn --threads=12 app.main:app\n"}, "6, up to 12 at a time (Procfile)"),
        ({"Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "-w", "2", "--threads", "4", "app.main:app"]\n'},
         "6, 4 at a time in each of 2 processes (Dockerfile; threads share module state, processes do not)"),
        ({"startup.sh": "#!/bin/sh\nexec gunicorn -w3 app.main:app  # three workers\n"},
         "6, in 3 processes (startup.sh; each with its own module state and threads)"),
        ({}, "6"),
    ],
)
def test_gunicorn_settings(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    assert message(tmp_path, FLASK, files) == expected


def test_azure_local_settings(tmp_path: Path) -> None:
    settings = '{"Values": {"PYTHON_THREADPOOL_THREAD_COUNT": "16", "FUNCTIONS_WORKER_PROCESS_COUNT": "2"}}'
    assert message(tmp_path, AZURE, {"local.settings.json": settings}) == (
        "6, 16 at a time in each of 2 processes (local.settings.json; threads share module state, processes do not)"
    )


def test_azure_without_settings_says_nothing_more(tmp_path: Path) -> None:
    assert message(tmp_path, AZURE, {"local.settings.json": "not json"}) == "6"


def test_fastapi_default_thread_limiter(tmp_path: Path) -> None:
    assert message(tmp_path, FASTAPI, {}) == "6, up to 40 at a time (anyio's default thread limiter)"


def test_fastapi_thread_limiter_set_in_the_module(tmp_path: Path) -> None:
    limiter = "import anyio.to_thread\nanyio.to_thread.current_default_thread_limiter().total_tokens = 5\n"
    source = FASTAPI.replace("HITS = 0\n\n\n", "HITS = 0\n" + limiter)
    assert message(tmp_path, source, {}) == "6, up to 5 at a time (the anyio thread limiter set in this module)"
