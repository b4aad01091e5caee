"""Behaviour of the ASL1xx fixes: the code runs before and after the fix and does what the fix promises."""
from __future__ import annotations

import asyncio
import gc
import inspect
import sys
import textwrap
import threading
import types
import warnings
from typing import Any

import pytest

from asynclint.config import Config
from asynclint.fixes import fix_bytes


def _fix(source: str, code: str, unsafe: bool) -> str:
    result = fix_bytes(source.encode(), "example.py", Config(select=[code]), unsafe=unsafe)
    assert result.error is None
    return result.source.decode()


def _exec(source: str, name: str = "example") -> dict[str, Any]:
    """Run module source in a fresh namespace (a real module, so ``globals()`` works as usual)."""
    module = types.ModuleType(name)
    module.__file__ = __file__  # the examples read a file: this one
    code = compile(source, f"{name}.py", "exec")
    exec(code, module.__dict__)  # noqa: S102 - running the example before and after the fix is the point
    return module.__dict__


# -- ASL101: the missing await --------------------------------------------------------------------
ASL101_SOURCE = textwrap.dedent(
    """
    import asyncio

    ran = []

    async def record(value):
        await asyncio.sleep(0)
        ran.append(value)

    async def main():
        record(1)
        asyncio.sleep(0)
        return "done"
    """
)


def _run_collecting_warnings(ns: dict[str, Any]) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = asyncio.run(ns["main"]())
        gc.collect()
    return result, [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


def test_asl101_original_never_runs_the_coroutine() -> None:
    ns = _exec(ASL101_SOURCE)
    result, runtime_warnings = _run_collecting_warnings(ns)
    assert result == "done"
    assert ns["ran"] == []
    assert sorted(runtime_warnings) == [
        "coroutine 'record' was never awaited",
        "coroutine 'sleep' was never awaited",
    ]


def test_asl101_fix_runs_the_coroutine() -> None:
    fixed = _fix(ASL101_SOURCE, "ASL101", unsafe=False)  # a safe fix: plain --fix applies it
    assert "    await record(1)\n    await asyncio.sleep(0)\n" in fixed
    ns = _exec(fixed)
    result, runtime_warnings = _run_collecting_warnings(ns)
    assert result == "done"
    assert ns["ran"] == [1]
    assert runtime_warnings == []


# -- ASL102: a strong reference until the task is done --------------------------------------------
ASL102_SOURCE = textwrap.dedent(
    """
    import asyncio

    results = []
    sizes = []

    def kept():
        return len(globals().get("_background_tasks", ()))

    async def work(n):
        await asyncio.sleep(0.01)
        results.append(n * 2)

    async def main():
        asyncio.create_task(work(21))
        sizes.append(kept())
        await asyncio.sleep(0.05)
        sizes.append(kept())
    """
)


def test_asl102_fix_keeps_the_task_until_done_and_same_result() -> None:
    fixed = _fix(ASL102_SOURCE, "ASL102", unsafe=True)
    assert "_background_tasks = set()\n" in fixed
    assert (
        "    task = asyncio.create_task(work(21))\n"
        "    _background_tasks.add(task)\n"
        "    task.add_done_callback(_background_tasks.discard)\n"
    ) in fixed
    assert _fix(ASL102_SOURCE, "ASL102", unsafe=False) == ASL102_SOURCE  # unsafe: not applied by plain --fix

    before = _exec(ASL102_SOURCE)
    asyncio.run(before["main"]())
    after = _exec(fixed)
    asyncio.run(after["main"]())
    assert before["results"] == after["results"] == [42]
    assert before["sizes"] == [0, 0]
    # held in the module-level set while running, dropped once done
    assert after["sizes"] == [1, 0]
    assert after["_background_tasks"] == set()


ASL102_GC_SOURCE = textwrap.dedent(
    """
    import asyncio

    async def wait_forever():
        # nothing but this task refers to the future: the task is reachable only from a cycle
        await asyncio.get_running_loop().create_future()

    async def main():
        asyncio.ensure_future(wait_forever())
        await asyncio.sleep(0)  # let the task start and suspend
    """
)


def _pending_tasks_after_gc(ns: dict[str, Any]) -> list[str]:
    async def probe() -> list[str]:
        await ns["main"]()
        gc.collect()
        current = asyncio.current_task()
        return sorted(t.get_coro().__name__ for t in asyncio.all_tasks() if t is not current)

    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda loop, context: None)  # "Task was destroyed but it is pending!"
    try:
        return loop.run_until_complete(probe())
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()


def test_asl102_original_task_is_garbage_collected_mid_flight_fixed_is_kept() -> None:
    assert _pending_tasks_after_gc(_exec(ASL102_GC_SOURCE)) == []  # collected while pending
    fixed = _fix(ASL102_GC_SOURCE, "ASL102", unsafe=True)
    ns = _exec(fixed)
    assert _pending_tasks_after_gc(ns) == ["wait_forever"]


# -- ASL100: a framework handler without async runs on the framework's thread pool --------------
ASL100_SOURCE = textwrap.dedent(
    """
    from fastapi import FastAPI

    api = FastAPI()

    @api.get("/items/{item_id}")
    async def read_item(item_id: int) -> dict:
        with open(__file__, encoding="utf-8") as fh:  # blocks the loop: ASL100 offers to drop async
            fh.read(1)
        return {"item_id": item_id, "thread": threading_name()}

    def threading_name():
        import threading
        return threading.current_thread().name
    """
)


class _FakeFastAPI:
    """A FastAPI stand-in with FastAPI's dispatch rule: coroutine endpoints run on the event loop,
    plain ``def`` endpoints on a thread pool (``run_in_threadpool``)."""

    def __init__(self) -> None:
        self.routes: dict[str, Any] = {}

    def get(self, path: str) -> Any:
        def register(func: Any) -> Any:
            self.routes[path] = func
            return func

        return register

    async def call(self, path: str, **params: Any) -> Any:
        endpoint = self.routes[path]
        if inspect.iscoroutinefunction(endpoint):
            return await endpoint(**params)
        return await asyncio.get_running_loop().run_in_executor(None, lambda: endpoint(**params))


@pytest.fixture
def fake_fastapi(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("fastapi")
    module.FastAPI = _FakeFastAPI  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fastapi", module)


def test_asl100_fix_drops_async_same_value_on_a_pool_thread(fake_fastapi: None) -> None:
    fixed = _fix(ASL100_SOURCE, "ASL100", unsafe=True)
    assert fixed == ASL100_SOURCE.replace("async def read_item", "def read_item")
    assert _fix(ASL100_SOURCE, "ASL100", unsafe=False) == ASL100_SOURCE  # unsafe: not applied by plain --fix

    loop_thread = threading.current_thread().name
    before = _exec(ASL100_SOURCE)
    assert inspect.iscoroutinefunction(before["read_item"])
    served_before = asyncio.run(before["api"].call("/items/{item_id}", item_id=7))
    assert served_before == {"item_id": 7, "thread": loop_thread}

    after = _exec(fixed)
    assert not inspect.iscoroutinefunction(after["read_item"])
    # called synchronously it returns the value the coroutine produced
    assert after["read_item"](7) == {"item_id": 7, "thread": loop_thread}
    served_after = asyncio.run(after["api"].call("/items/{item_id}", item_id=7))
    assert served_after["item_id"] == 7
    assert served_after["thread"] != loop_thread  # the framework ran it on its thread pool


def test_asl100_no_fix_when_the_module_awaits_the_handler(fake_fastapi: None) -> None:
    source = ASL100_SOURCE + textwrap.dedent(
        """
        async def smoke_test():
            return await read_item(1)
        """
    )
    assert _fix(source, "ASL100", unsafe=True) == source
    ns = _exec(source)
    assert asyncio.run(ns["smoke_test"]())["item_id"] == 1  # the caller still needs a coroutine
