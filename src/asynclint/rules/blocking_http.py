"""ASL210 blocking-http: sync HTTP clients (requests, urllib, urllib3, httpx, http.client) in a coroutine body."""
from __future__ import annotations

from asynclint.rule import Example, Safety
from asynclint.semantics.blocking import BlockingCallRule


class BlockingHttp(BlockingCallRule):
    """Checks for sync HTTP requests in a coroutine body: `requests` functions and `Session`
    methods, `urllib.request.urlopen`, `urllib3` requests, `httpx` module functions and
    `httpx.Client` methods, and `http.client` connections.

    ## Why is this bad?
    A sync HTTP request blocks the thread until the server answers. In an `async def` that thread
    runs the event loop, so every other task waits for the slowest server. An async client
    (`httpx.AsyncClient`, `aiohttp`) awaits the network instead; where the code must stay sync,
    running the call on a worker thread keeps the loop free.

    ## Fix safety
    The fix is unsafe: it runs the call on a worker thread with `await asyncio.to_thread(func,
    *args, **kwargs)` (`trio.to_thread.run_sync` / `anyio.to_thread.run_sync` with
    `functools.partial` in modules that use those libraries, and `await
    loop.run_in_executor(None, functools.partial(...))` with `fix-style = "run-in-executor"` or a
    `target-version` below py39). The request then runs concurrently with other tasks, and an
    object shared with them (a `Session`) is used from another thread. `httpx.stream(...)` is
    not fixed: it returns a context manager whose request starts when the block is entered.

    ## Options
    - `fix-style`, `target-version`: which thread wrapper the fix writes.
    """

    code = "ASL210"
    slug = "blocking-http"
    fix_safety = Safety.UNSAFE
    markers = (b"requests", b"urllib", b"http")
    examples = (
        Example(
            """
            import requests

            async def fetch_user(user_id):
                return requests.get(f"https://api.example.com/users/{user_id}").json()  # ASL210
            """,
            fixed="""
            import requests
            import asyncio

            async def fetch_user(user_id):
                return (await asyncio.to_thread(requests.get, f"https://api.example.com/users/{user_id}")).json()  # ASL210
            """,
        ),
        Example(
            """
            import httpx

            async def fetch_user(client: httpx.AsyncClient, user_id):
                response = await client.get(f"https://api.example.com/users/{user_id}")
                return response.json()
            """
        ),
    )
