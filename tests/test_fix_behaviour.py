"""Fixes keep what the code does: each case runs before and after ``asynclint --fix --unsafe-fixes``
(as subprocesses, all cases of a phase at once) and the results are compared; wrapped blocking calls
are shown to move from the event-loop thread to a worker thread, and sleeps to let other tasks run.

Stand-ins (no network): a ``requests`` module whose ``get`` records the thread it ran on, a
``fastapi`` module whose route decorators return the function, and spies on stdlib callables
(``subprocess.run``, ``pathlib.Path.read_text``, ``input``) installed at run time, which the linter
does not see."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

HARNESS = '''
"""Records which thread each spied call ran on and prints the outcome as one JSON line."""
import builtins
import json
import pathlib
import subprocess
import threading

LOOP = None
CALLS = []
EXTRA = {}


def loop_started():
    global LOOP
    LOOP = threading.get_ident()


def record(name):
    CALLS.append((name, threading.get_ident()))


def spy(owner, attr, name):
    real = getattr(owner, attr)

    def wrapper(*args, **kwargs):
        record(name)
        return real(*args, **kwargs)

    setattr(owner, attr, wrapper)


def spy_stdlib():
    spy(subprocess, "run", "subprocess.run")
    spy(pathlib.Path, "read_text", "Path.read_text")
    spy(builtins, "input", "input")


def finish(result):
    where = ["loop" if ident == LOOP else "worker" for _, ident in CALLS]
    print(json.dumps({"result": result, "calls": [name for name, _ in CALLS], "threads": where, **EXTRA}))
'''

REQUESTS = '''
"""Stand-in for requests: no network, records the calling thread."""
import harness


def get(url, timeout=None):
    harness.record("requests.get")
    return {"url": url, "status": 200, "timeout": timeout}
'''

FASTAPI = '''
"""Stand-in for fastapi: route decorators record the function and return it unchanged."""


class FastAPI:
    def __init__(self):
        self.routes = []

    def get(self, path):
        def register(func):
            self.routes.append(func)
            return func

        return register
'''

ASYNCIO_MAIN = """
        async def main():
            harness.loop_started()
            return await handler()


        harness.spy_stdlib()
        harness.finish(asyncio.run(main()))
"""

#: name -> (folder, source); the folder decides the configuration the CLI fixes it with
CASES: dict[str, tuple[str, str]] = {
    "requests_asyncio": (
        "default",
        """
        import asyncio
        import harness
        import requests

        async def handler():
            return requests.get("http://example.invalid/1", timeout=3)
        """
        + ASYNCIO_MAIN,
    ),
    "subprocess_asyncio": (
        "default",
        """
        import asyncio
        import subprocess
        import sys
        import harness

        async def handler():
            done = subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True, check=True)
            return done.stdout.strip()
        """
        + ASYNCIO_MAIN,
    ),
    "read_text_asyncio": (
        "default",
        """
        import asyncio
        from pathlib import Path
        import harness

        async def handler():
            return Path(__file__).read_text().count("def ")
        """
        + ASYNCIO_MAIN,
    ),
    "input_asyncio": (
        "default",
        """
        import asyncio
        import harness

        async def handler():
            return input().upper()
        """
        + ASYNCIO_MAIN,
    ),
    "sleep_asyncio": (
        "default",
        """
        import asyncio
        import time
        import harness

        TICKS = []

        async def ticker():
            while True:
                TICKS.append(1)
                await asyncio.sleep(0.01)

        async def handler():
            time.sleep(0.3)
            return "slept"

        async def main():
            task = asyncio.create_task(ticker())
            await asyncio.sleep(0)
            before = len(TICKS)
            result = await handler()
            harness.EXTRA["ticks_during_sleep"] = len(TICKS) - before
            task.cancel()
            return result

        harness.finish(asyncio.run(main()))
        """,
    ),
    "unawaited_asyncio": (
        "default",
        """
        import asyncio
        import warnings
        import harness

        DONE = []

        async def save(item):
            DONE.append(item)

        async def handler():
            save("a")
            await asyncio.sleep(0)
            return list(DONE)

        warnings.simplefilter("ignore", RuntimeWarning)
        harness.finish(asyncio.run(handler()))
        """,
    ),
    "dangling_task_asyncio": (
        "default",
        """
        import asyncio
        import gc
        import harness

        DONE = []

        async def job():
            await asyncio.sleep(0.05)
            DONE.append("job")

        async def handler():
            asyncio.create_task(job())
            gc.collect()
            await asyncio.sleep(0.1)
            return list(DONE)

        result = asyncio.run(handler())
        harness.EXTRA["tasks_left"] = len(globals().get("_background_tasks", ()))
        harness.finish(result)
        """,
    ),
    "drop_async_fastapi": (
        "default",
        """
        import asyncio
        import inspect
        from fastapi import FastAPI
        import harness

        app = FastAPI()

        @app.get("/")
        async def root():
            # blocks the loop (ASL230, no fix of its own): ASL100 offers to drop async
            with open(__file__, encoding="utf-8") as fh:
                fh.read()
            return {"hello": "world"}

        # called the way a framework calls it: through what the decorator registered
        endpoint = app.routes[0]
        value = endpoint()
        harness.EXTRA["coroutine_function"] = inspect.iscoroutinefunction(endpoint)
        harness.finish(asyncio.run(value) if inspect.iscoroutine(value) else value)
        """,
    ),
    "drop_async_private": (
        "default",
        """
        import asyncio
        import harness

        async def _total(prices):
            return sum(prices) * 2

        async def handler():
            first = await _total([1, 2, 3])
            return [first, (await _total([4]))]

        harness.finish(asyncio.run(handler()))
        """,
    ),
    "lock_counter": (
        "default",
        """
        import threading
        import harness

        counter = 0

        def worker():
            global counter
            for _ in range(20000):
                counter += 1

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        harness.finish(counter)
        """,
    ),
    "requests_trio": (
        "default",
        """
        import time
        import requests
        import trio
        import harness

        TICKS = []

        async def ticker():
            while True:
                TICKS.append(1)
                await trio.sleep(0.01)

        async def handler():
            time.sleep(0.3)
            return requests.get("http://example.invalid/2")

        async def main():
            harness.loop_started()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ticker)
                await trio.sleep(0)
                before = len(TICKS)
                result = await handler()
                harness.EXTRA["ticks_during_sleep"] = len(TICKS) - before
                nursery.cancel_scope.cancel()
            return result

        harness.finish(trio.run(main))
        """,
    ),
    "requests_anyio": (
        "default",
        """
        import time
        import anyio
        import requests
        import harness

        TICKS = []

        async def ticker():
            while True:
                TICKS.append(1)
                await anyio.sleep(0.01)

        async def handler():
            time.sleep(0.3)
            return requests.get("http://example.invalid/3")

        async def main():
            harness.loop_started()
            async with anyio.create_task_group() as tg:
                tg.start_soon(ticker)
                await anyio.sleep(0)
                before = len(TICKS)
                result = await handler()
                harness.EXTRA["ticks_during_sleep"] = len(TICKS) - before
                tg.cancel_scope.cancel()
            return result

        harness.finish(anyio.run(main))
        """,
    ),
    "requests_executor": (
        "executor",
        """
        import asyncio
        import harness
        import requests

        async def handler():
            return requests.get("http://example.invalid/4", timeout=5)
        """
        + ASYNCIO_MAIN,
    ),
    "subprocess_executor": (
        "executor",
        """
        import asyncio
        import subprocess
        import sys
        import harness

        async def handler():
            done = subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True)
            return done.stdout.strip()
        """
        + ASYNCIO_MAIN,
    ),
    "read_text_executor": (
        "executor",
        """
        import asyncio
        from pathlib import Path
        import harness

        async def handler():
            return Path(__file__).read_text().count("def ")
        """
        + ASYNCIO_MAIN,
    ),
    "input_executor": (
        "executor",
        """
        import asyncio
        import harness

        async def handler():
            return input().upper()
        """
        + ASYNCIO_MAIN,
    ),
}

NEEDS = {"requests_trio": "trio", "requests_anyio": "anyio"}
STDIN = "hello\n"


@dataclass
class Outcome:
    before: dict
    after: dict
    fixed_source: str
    fix_log: str


def _run_all(paths: dict[str, Path], lib: Path) -> dict[str, dict]:
    env = {**os.environ, "PYTHONPATH": str(lib), "PYTHONDONTWRITEBYTECODE": "1"}
    procs = {
        name: subprocess.Popen(
            [sys.executable, str(path)],
            cwd=path.parent,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, path in paths.items()
    }
    out: dict[str, dict] = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(STDIN, timeout=60)
        lines = stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            out[name] = {"error": f"exit {proc.returncode}\n{stdout}\n{stderr}"}
        else:
            out[name] = json.loads(lines[-1])
    return out


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("behaviour")
    lib = root / "lib"
    lib.mkdir()
    (lib / "harness.py").write_text(HARNESS)
    (lib / "requests.py").write_text(REQUESTS)
    (lib / "fastapi.py").write_text(FASTAPI)
    paths: dict[str, Path] = {}
    available = {m for m in ("trio", "anyio") if _importable(m)}
    for name, (folder, source) in CASES.items():
        if name in NEEDS and NEEDS[name] not in available:
            continue
        path = root / folder / f"{name}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip())
        paths[name] = path
    # ASL102 is off by default: its fix is exercised too
    (root / "default" / "asynclint.toml").write_text('extend-select = ["ASL102"]\n')
    (root / "executor" / "asynclint.toml").write_text('fix-style = "run-in-executor"\nextend-select = ["ASL102"]\n')
    before = _run_all(paths, lib)
    logs = {}
    for folder in ("default", "executor"):
        proc = subprocess.run(
            [sys.executable, "-m", "asynclint", "--no-cache", "--fix", "--unsafe-fixes", "--output-format", "concise", "."],
            cwd=root / folder,
            capture_output=True,
            text=True,
            check=False,
            env={k: v for k, v in os.environ.items() if not k.startswith("ASYNCLINT_")},
        )
        logs[folder] = f"exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
    after = _run_all(paths, lib)
    return {
        name: Outcome(before[name], after[name], path.read_text(), logs[path.parent.name]) for name, path in paths.items()
    }


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def outcome(outcomes: dict[str, Outcome], name: str) -> Outcome:
    if name in NEEDS and not _importable(NEEDS[name]):
        pytest.fail(f"{NEEDS[name]} is not installed: it is in the test extras (pip install -e '.[test]')")
    result = outcomes[name]
    assert "error" not in result.before, result.before
    assert "error" not in result.after, f"{result.after}\n--- fixed source:\n{result.fixed_source}\n--- fix run:\n{result.fix_log}"
    return result


def _line(source: str, needle: str) -> str:
    found = [line.strip() for line in source.splitlines() if needle in line]
    assert len(found) == 1, f"{needle!r} in:\n{source}"
    return found[0]


@pytest.mark.parametrize(
    ("name", "call", "fixed_line", "result"),
    [
        (
            "requests_asyncio",
            "requests.get",
            'return await asyncio.to_thread(requests.get, "http://example.invalid/1", timeout=3)',
            {"url": "http://example.invalid/1", "status": 200, "timeout": 3},
        ),
        (
            "subprocess_asyncio",
            "subprocess.run",
            'done = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", "print(6 * 7)"], '
            "capture_output=True, text=True, check=True)",
            "42",
        ),
        ("read_text_asyncio", "Path.read_text", "return (await asyncio.to_thread(Path(__file__).read_text)).count(", None),
        ("input_asyncio", "input", "return (await asyncio.to_thread(input)).upper()", "HELLO"),
        (
            "requests_executor",
            "requests.get",
            "return await asyncio.get_running_loop().run_in_executor(None, "
            'functools.partial(requests.get, "http://example.invalid/4", timeout=5))',
            {"url": "http://example.invalid/4", "status": 200, "timeout": 5},
        ),
        (
            "subprocess_executor",
            "subprocess.run",
            "done = await asyncio.get_running_loop().run_in_executor(None, functools.partial(subprocess.run, "
            '[sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True))',
            "42",
        ),
        (
            "read_text_executor",
            "Path.read_text",
            "return (await asyncio.get_running_loop().run_in_executor(None, Path(__file__).read_text)).count(",
            None,
        ),
        (
            "input_executor",
            "input",
            "return (await asyncio.get_running_loop().run_in_executor(None, input)).upper()",
            "HELLO",
        ),
    ],
)
def test_thread_wrapper_moves_the_call_off_the_loop(
    outcomes: dict[str, Outcome], name: str, call: str, fixed_line: str, result: object
) -> None:
    case = outcome(outcomes, name)
    assert case.before["calls"] == [call] and case.before["threads"] == ["loop"]
    assert case.after["calls"] == [call] and case.after["threads"] == ["worker"]
    assert case.after["result"] == case.before["result"]
    if result is not None:
        assert case.after["result"] == result
    needle = "run_in_executor" if "executor" in name else "to_thread"
    assert _line(case.fixed_source, needle).startswith(fixed_line), case.fixed_source
    if "executor" in name and "partial" in fixed_line:
        assert _line(case.fixed_source, "import functools") == "import functools"
    assert _line(case.fixed_source, "import asyncio") == "import asyncio"


def test_sleep_lets_other_tasks_run(outcomes: dict[str, Outcome]) -> None:
    case = outcome(outcomes, "sleep_asyncio")
    assert case.before["result"] == case.after["result"] == "slept"
    assert case.before["ticks_during_sleep"] == 0  # time.sleep blocked the loop
    assert case.after["ticks_during_sleep"] >= 5  # the ticker ran during asyncio.sleep
    assert _line(case.fixed_source, "sleep(0.3)") == "await asyncio.sleep(0.3)"


@pytest.mark.parametrize(("name", "lib"), [("requests_trio", "trio"), ("requests_anyio", "anyio")])
def test_trio_and_anyio_modules(outcomes: dict[str, Outcome], name: str, lib: str) -> None:
    case = outcome(outcomes, name)
    assert case.before["result"] == case.after["result"]
    assert case.after["result"]["url"].startswith("http://example.invalid/")
    assert case.before["threads"] == ["loop"] and case.after["threads"] == ["worker"]
    assert case.before["ticks_during_sleep"] == 0 and case.after["ticks_during_sleep"] >= 5
    assert _line(case.fixed_source, "sleep(0.3)") == f"await {lib}.sleep(0.3)"
    assert _line(case.fixed_source, "requests.get") == (
        f'return await {lib}.to_thread.run_sync(functools.partial(requests.get, "http://example.invalid/{2 if lib == "trio" else 3}"))'
    )
    assert "import asyncio" not in case.fixed_source


def test_add_await_runs_the_coroutine(outcomes: dict[str, Outcome]) -> None:
    case = outcome(outcomes, "unawaited_asyncio")
    assert case.before["result"] == []  # the bug the rule reports: the coroutine never ran
    assert case.after["result"] == ["a"]
    assert _line(case.fixed_source, 'save("a")') == 'await save("a")'


def test_task_reference_keeps_the_task_until_done(outcomes: dict[str, Outcome]) -> None:
    case = outcome(outcomes, "dangling_task_asyncio")
    assert case.before["result"] == case.after["result"] == ["job"]
    assert case.after["tasks_left"] == 0  # the done callback discarded it
    assert "add_done_callback(" in case.fixed_source and ".discard)" in case.fixed_source


def test_drop_async_keeps_the_handler_result(outcomes: dict[str, Outcome]) -> None:
    case = outcome(outcomes, "drop_async_fastapi")
    assert case.before["result"] == case.after["result"] == {"hello": "world"}
    assert case.before["coroutine_function"] is True and case.after["coroutine_function"] is False
    assert _line(case.fixed_source, "root():") == "def root():"


def test_private_coroutine_fix_keeps_the_result(outcomes: dict[str, Outcome]) -> None:
    """ASL100's fix for a private coroutine only ever awaited directly: no async, no awaits, same value."""
    case = outcome(outcomes, "drop_async_private")
    assert case.before["result"] == case.after["result"] == [12, 8]
    assert _line(case.fixed_source, "_total(prices):") == "def _total(prices):"
    assert _line(case.fixed_source, "first =") == "first = _total([1, 2, 3])"
    assert _line(case.fixed_source, "return [first") == "return [first, (_total([4]))]"


def test_lock_fix_keeps_the_count(outcomes: dict[str, Outcome]) -> None:
    case = outcome(outcomes, "lock_counter")
    assert case.after["result"] == 80000
    assert "threading.Lock()" in case.fixed_source
    lines = case.fixed_source.splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip() == "counter += 1")
    assert lines[index - 1].strip().startswith("with ") and lines[index - 1].strip().endswith(":")
    compile(case.fixed_source, "lock_counter.py", "exec")


def test_every_case_ran(outcomes: dict[str, Outcome]) -> None:
    expected = {name for name in CASES if name not in NEEDS or _importable(NEEDS[name])}
    assert set(outcomes) == expected
