"""Unit tests of the ASL2xx tables: which callee name belongs to which code, and the messages."""
from __future__ import annotations

import textwrap

import pytest

from asynclint.config import Config
from asynclint.engine import lint_bytes
from asynclint.semantics.blocking import classify_name


@pytest.mark.parametrize(
    ("name", "code", "shown", "fixable"),
    [
        ("requests.get", "ASL210", "requests.get", True),
        ("requests.Session().get", "ASL210", "requests.Session(...).get", True),
        ("httpx.stream", "ASL210", "httpx.stream", False),
        ("httpx.Client().stream", "ASL210", "httpx.Client(...).stream", False),
        ("http.client.HTTPConnection().getresponse().read", "ASL210", "http.client.HTTPConnection(...).getresponse(...).read", True),
        ("subprocess.check_output", "ASL220", "subprocess.check_output", True),
        ("subprocess.Popen", "ASL220", "subprocess.Popen", False),
        ("subprocess.Popen().communicate", "ASL220", "subprocess.Popen(...).communicate", False),
        ("os.posix_spawnp", "ASL220", "os.posix_spawnp", False),
        ("builtins.open", "ASL230", "open", False),
        ("pathlib.Path().open", "ASL230", "pathlib.Path(...).open", False),
        ("pathlib.Path().read_text", "ASL230", "pathlib.Path(...).read_text", True),
        ("pathlib.Path.cwd().write_bytes", "ASL230", "pathlib.Path.cwd(...).write_bytes", True),
        ("shutil.rmtree", "ASL230", "shutil.rmtree", True),
        ("builtins.open().read", "ASL230", "builtins.open(...).read", True),
        ("io.TextIOWrapper().write", "ASL230", "io.TextIOWrapper(...).write", True),
        ("pathlib.Path().exists", "ASL231", "pathlib.Path(...).exists", True),
        ("pathlib.Path().iterdir", "ASL231", "pathlib.Path(...).iterdir", False),
        ("os.path.getmtime", "ASL231", "os.path.getmtime", True),
        ("os.walk", "ASL231", "os.walk", False),
        ("httpx2.Client().send", "ASL210", "httpx2.Client(...).send", True),
        ("builtins.input", "ASL240", "input", True),
        ("threading.Lock().acquire", "ASL250", "threading.Lock(...).acquire", False),
        ("concurrent.futures.ThreadPoolExecutor().submit().result", "ASL250",
         "concurrent.futures.ThreadPoolExecutor(...).submit(...).result", False),
        ("queue.Queue().join", "ASL250", "queue.Queue(...).join", False),
        # sqlite3 objects refuse other threads: no thread-wrapper fix
        ("sqlite3.connect().cursor().fetchall", "ASL260", "sqlite3.connect(...).cursor(...).fetchall", False),
        ("psycopg2.connect().cursor().fetchall", "ASL260", "psycopg2.connect(...).cursor(...).fetchall", True),
        ("redis.Redis().pipeline().execute", "ASL260", "redis.Redis(...).pipeline(...).execute", True),
        ("pymongo.MongoClient()[][].find_one", "ASL260", "pymongo.MongoClient(...)[...][...].find_one", True),
    ],
)
def test_classify_name(name: str, code: str, shown: str, fixable: bool) -> None:
    found = classify_name(name)
    assert found is not None
    entry, got_shown = found
    assert (entry.code, got_shown, bool(entry.fix)) == (code, shown, fixable)


@pytest.mark.parametrize(
    "name",
    [
        "redis.Redis",  # connects lazily
        "pymongo.MongoClient",
        "requests.Session",
        "redis.Redis().pipeline().set",  # buffered until execute()
        "queue.SimpleQueue().put",  # unbounded: never blocks
        "sqlite3.connect().close",
        "requests.Session().get().json",
        "pathlib.Path().with_suffix",
        "os.path.normpath",
        "threading.Lock().release",
    ],
)
def test_not_blocking(name: str) -> None:
    assert classify_name(name) is None


def test_configured_call() -> None:
    found = classify_name("mylib.Client().query", {"mylib.Client().query": "mylib.AsyncClient().query"})
    assert found is not None
    assert (found[0].code, found[0].fix, found[1], found[0].instead["asyncio"]) == (
        "ASL260", "thread", "mylib.Client(...).query", "`mylib.AsyncClient().query`"
    )


def _messages(source: str, select: str) -> list[tuple[int, str]]:
    result = lint_bytes(textwrap.dedent(source).encode(), "t.py", Config(select=[select]))
    assert result.error is None
    return [(f.line, f.message) for f in result.findings]


@pytest.mark.parametrize(
    ("library", "replacement"),
    [
        ("asyncio", "an async client (`httpx.AsyncClient`, `aiohttp`) or `await asyncio.to_thread(...)`"),
        ("trio", "an async client (`httpx.AsyncClient`) or `await trio.to_thread.run_sync(...)`"),
        ("anyio", "an async client (`httpx.AsyncClient`, `aiohttp`) or `await anyio.to_thread.run_sync(...)`"),
    ],
)
def test_message_names_the_library_replacement(library: str, replacement: str) -> None:
    source = f"""
    import {library}
    import requests as rq

    async def f(url):
        rq.get(url)
    """
    assert _messages(source, "ASL210") == [(6, f"`requests.get(...)` blocks the event loop; use {replacement}")]


def test_sync_primitive_messages() -> None:
    source = """
    import queue
    import threading
    import trio

    lock = threading.Lock()

    class Worker:
        def __init__(self):
            self._queue = queue.Queue(maxsize=8)
            self._lock = threading.Lock()

        async def f(self, item):
            with self._lock:
                await trio.sleep(0)
            lock.acquire()
            await trio.sleep(0)
            lock.release()
            self._queue.put(item)
            self._queue.get()
    """
    held = (
        "holds a thread lock across the `await` at line {line}, a deadlock risk: another task taking it "
        "meanwhile blocks the event loop, and this one never resumes to release it; release it before "
        "awaiting, or use `trio.Lock` if only tasks share it"
    )
    assert _messages(source, "ASL250") == [
        (14, "`with self._lock:` " + held.format(line=15)),
        (16, "`lock.acquire(...)` " + held.format(line=17)),
        (19, "`self._queue.put(...)` blocks the event loop; use `trio.open_memory_channel` (`await send_channel.send(item)`)"),
        (20, "`self._queue.get(...)` blocks the event loop; use `trio.open_memory_channel` (`await receive_channel.receive()`)"),
    ]


def test_method_messages_show_the_call_as_written() -> None:
    source = """
    import pathlib
    import time as t

    async def f(base):
        fname = pathlib.Path(base).parent
        t.sleep(1)
        fname.open()
        pathlib.Path(base, "a-rather-long-folder-name", "and-a-longer-file-name.txt").read_text()
    """
    assert [m.split("`")[1] for _, m in _messages(source, "ASL200")] == ["time.sleep(...)"]
    assert [m.split("`")[1] for _, m in _messages(source, "ASL230")] == [
        "fname.open(...)",
        'pathlib.Path(base, ...).read_text(...)',
    ]


def test_subprocess_messages() -> None:
    source = """
    import os
    import subprocess

    async def f(cmd):
        subprocess.Popen(cmd)
        os.system(cmd)
    """
    assert _messages(source, "ASL220") == [
        (6, "`subprocess.Popen(...)` blocks the event loop; use `await asyncio.create_subprocess_exec(...)`"),
        (7, "`os.system(...)` blocks the event loop; use `await asyncio.create_subprocess_shell(...)`"),
    ]


def test_open_message() -> None:
    source = """
    async def f(path):
        with open(path) as fh:
            return fh.read()
    """
    assert _messages(source, "ASL230") == [
        (3, "`open(...)` blocks the event loop; use `aiofiles.open(...)`, `anyio.Path`, or "
            "`await asyncio.to_thread(...)` around the whole file operation"),
    ]


def test_connection_from_a_thread_is_still_a_connection() -> None:
    source = """
    import asyncio
    import sqlite3

    async def f(path):
        conn = await asyncio.to_thread(sqlite3.connect, path)
        conn.execute("select 1")
    """
    assert [line for line, _ in _messages(source, "ASL260")] == [7]


def test_library_coroutine_table_is_generated_from_the_installed_libraries() -> None:
    """``src/asynclint/data/library_coroutines.json`` is what ``tools/library_coroutines.py`` reads
    from trio, anyio (the versions pyproject's test extras pin) and asyncio; regenerate it with
    ``python tools/library_coroutines.py`` when this fails."""
    import importlib.util
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("library_coroutines", root / "tools" / "library_coroutines.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    stored = json.loads((root / "src" / "asynclint" / "data" / "library_coroutines.json").read_text())
    fresh = tool.generate()
    assert fresh["versions"]["trio"] == stored["versions"]["trio"], "install the trio version the test extras pin"
    assert fresh["versions"]["anyio"] == stored["versions"]["anyio"], "install the anyio version the test extras pin"
    ours = {n for n in stored["coroutines"] if not n.startswith("asyncio.")}
    theirs = {n for n in fresh["coroutines"] if not n.startswith("asyncio.")}
    assert ours == theirs, f"stale: missing {sorted(theirs - ours)[:10]}, extra {sorted(ours - theirs)[:10]}"
    asyncio_now = {n for n in fresh["coroutines"] if n.startswith("asyncio.")}
    asyncio_stored = {n for n in stored["coroutines"] if n.startswith("asyncio.")}
    if fresh["versions"]["python"] == stored["versions"]["python"]:
        assert asyncio_stored == asyncio_now
    else:
        # another Python's asyncio: the functions the table lists are coroutine functions there too
        assert {n for n in asyncio_stored if "()" not in n} <= asyncio_now
    assert {"trio.sleep", "trio.Nursery().start", "trio.open_nursery().start", "anyio.sleep", "asyncio.sleep"} <= set(
        stored["coroutines"]
    )
