"""ASL3xx semantics beyond the fixtures: the config-aware prefilter, messages naming the entry point,
and where the lock fix declines."""
from __future__ import annotations

import textwrap

from asynclint.config import Config
from asynclint.engine import lint_bytes
from asynclint.fixes import fix_bytes


def _lint(code: str, **config: object):
    source = textwrap.dedent(code).lstrip("\n").encode()
    return lint_bytes(source, "app.py", Config(select=["ASL3"], **config))  # type: ignore[arg-type]


JOBS = """
from myjobs import background

COUNT = 0

@background
def job():
    global COUNT
    COUNT += 1
"""


def test_configured_entry_points_pass_the_prefilter() -> None:
    # no framework or threading marker in the file: only the configured name lets it through
    assert not _lint(JOBS).parsed
    result = _lint(JOBS, thread_entrypoints=["myjobs.background"])
    assert [(f.line, f.code) for f in result.findings] == [(8, "ASL302")]
    assert "runs on a pool thread (thread-entrypoints) via @background at line 5" in result.findings[0].message


def test_azure_message_names_the_decorator_and_its_line() -> None:
    result = _lint(
        """
        import azure.functions as func

        app = func.FunctionApp()
        SEEN = {}

        @app.route(route="orders")
        def orders(req: func.HttpRequest) -> func.HttpResponse:
            SEEN[req.url] = SEEN.get(req.url, 0) + 1
            return func.HttpResponse("ok")
        """
    )
    assert [f.message for f in result.findings] == [
        (
            "`SEEN[req.url] = SEEN.get(req.url, 0) + 1` is a non-atomic read-modify-write of module-level `SEEN` "
            "in `orders()`, which runs on the Azure Functions worker thread pool (PYTHON_THREADPOOL_THREAD_COUNT) "
            "via @app.route at line 6: concurrent calls lose updates; hold a lock around it (`with _seen_lock:`)"
        )
    ]


def test_fix_reuses_a_threading_alias_and_an_existing_lock_named_for_the_state() -> None:
    source = textwrap.dedent(
        """
        import threading as th

        TOTAL = 0
        _total_lock = th.Lock()

        def add(n):
            global TOTAL
            TOTAL += n

        th.Thread(target=add, args=(1,)).start()
        """
    ).lstrip("\n")
    fixed = fix_bytes(source.encode(), "app.py", Config(select=["ASL3"]), unsafe=True)
    assert fixed.error is None
    assert fixed.source.decode() == source.replace(
        "    TOTAL += n\n", "    with _total_lock:\n        TOTAL += n\n"
    )


def test_fix_adds_a_lock_with_the_existing_alias() -> None:
    source = textwrap.dedent(
        """
        import threading as th

        TOTAL = 0

        def add(n):
            global TOTAL
            TOTAL += n

        th.Thread(target=add, args=(1,)).start()
        """
    ).lstrip("\n")
    fixed = fix_bytes(source.encode(), "app.py", Config(select=["ASL3"]), unsafe=True)
    assert fixed.source.decode() == textwrap.dedent(
        """
        import threading as th

        _total_lock = th.Lock()

        TOTAL = 0

        def add(n):
            global TOTAL
            with _total_lock:
                TOTAL += n

        th.Thread(target=add, args=(1,)).start()
        """
    ).lstrip("\n")


def test_no_fix_when_threading_is_imported_below_where_the_lock_would_go() -> None:
    result = _lint(
        """
        import os

        TOTAL = 0
        import threading

        def add(n):
            global TOTAL
            TOTAL += n

        threading.Thread(target=add, args=(1,)).start()
        """
    )
    assert [(f.line, f.code, f.fix) for f in result.findings] == [(8, "ASL302", None)]


def test_process_pool_and_async_handlers_are_not_threaded() -> None:
    result = _lint(
        """
        import asyncio
        from concurrent.futures import ProcessPoolExecutor
        from fastapi import FastAPI

        app = FastAPI()
        TOTAL = 0

        def crunch(n):
            global TOTAL
            TOTAL += n

        @app.get("/")
        async def index():
            global TOTAL
            TOTAL += 1
            loop = asyncio.get_running_loop()
            with ProcessPoolExecutor() as pool:
                await loop.run_in_executor(pool, crunch, 1)
                pool.submit(crunch, 2)
        """
    )
    assert result.findings == []


def test_azure_v1_main_of_an_init_module_without_annotations() -> None:
    # the v1 model: HttpTrigger/__init__.py's ``main``, whatever way azure.functions is imported
    source = textwrap.dedent(
        """
        from azure.functions import HttpResponse

        COUNT = {"n": 0}


        def main(req):
            COUNT["n"] += 1
            return HttpResponse("ok")
        """
    ).lstrip("\n").encode()
    found = lint_bytes(source, "HttpTrigger/__init__.py", Config(select=["ASL3"]))
    assert [(f.line, f.code) for f in found.findings] == [(7, "ASL302")]
    assert lint_bytes(source, "HttpTrigger/helpers.py", Config(select=["ASL3"])).findings == []
