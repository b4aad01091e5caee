"""ASL260 blocking-client: sync database and network clients (and configured calls) in a coroutine body."""
from __future__ import annotations

from asynclint.rule import Example, Safety
from asynclint.semantics.blocking import BlockingCallRule


class BlockingClient(BlockingCallRule):
    """Checks for sync database and network clients in a coroutine body: `sqlite3.connect`,
    `psycopg2.connect`, `pymysql.connect`, `MySQLdb.connect`, `socket.create_connection`, the
    I/O methods (`execute`, `fetch*`, `commit`, `get`, `set`, `find*`, `recv`, ...) of objects
    built from them or from `redis.Redis` and `pymongo.MongoClient` in the same module or
    scope, and the calls named in `extra-blocking-calls`.

    ## Why is this bad?
    Each query or command waits for a server's answer on the thread that runs the event loop,
    so every other task waits with it. Async drivers (`aiosqlite`, `asyncpg`, `psycopg` 3's
    async connection, `aiomysql`, `redis.asyncio`, `motor`) await the network instead. The
    `redis.Redis` and `pymongo.MongoClient` constructors are not flagged: they connect lazily.

    ## Fix safety
    The fix is unsafe: it runs the single call on a worker thread with `await
    asyncio.to_thread(...)` (or the module's async library's equivalent). Client objects are
    then used from several threads, and most database connections are not thread-safe. No fix
    is offered for `sqlite3`: its objects refuse to be used from any thread but the one that
    created them, and consecutive `to_thread` calls may run on different pool threads.

    ## Options
    - `extra-blocking-calls`: a table of qualified names to the replacement the message should
      name, e.g. `{"mylib.fetch" = "mylib.afetch"}`; such calls are reported as ASL260 with the
      thread-wrapper fix. Methods use the `Class().method` notation
      (`"mylib.Client().query"`).
    - `fix-style`, `target-version`: which thread wrapper the fix writes.
    """

    code = "ASL260"
    slug = "blocking-client"
    fix_safety = Safety.UNSAFE
    examples = (
        Example(
            """
            import redis

            cache = redis.Redis()

            async def cached_name(user_id):
                return cache.get(f"user:{user_id}:name")  # ASL260
            """,
            fixed="""
            import redis
            import asyncio

            cache = redis.Redis()

            async def cached_name(user_id):
                return await asyncio.to_thread(cache.get, f"user:{user_id}:name")  # ASL260
            """,
        ),
        Example(
            """
            import redis.asyncio

            cache = redis.asyncio.Redis()

            async def cached_name(user_id):
                return await cache.get(f"user:{user_id}:name")
            """
        ),
    )
