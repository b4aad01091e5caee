"""The tables of blocking callables (data, not code) and the shared ASL2xx call classifier.

Names use the notation of :meth:`Context.callee_names`: ``time.sleep`` for a function,
``requests.Session().get`` for a method of an object built by ``requests.Session(...)``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from asynclint.rule import COROUTINE_DEF, Fix, Rule, Safety
from asynclint.semantics import Context, rewrite


@dataclass(frozen=True)
class Blocking:
    """One blocking callable: which rule reports it, what to use instead, whether it is fixable.

    ``fix`` is ``"thread"`` (thread wrapper), ``"sleep"`` (the library's sleep) or ``""`` (none).
    ``instead`` maps an async library to the replacement the message names; ``{lib}`` is filled in.
    """

    code: str
    fix: str
    instead: dict[str, str]


def _b(code: str, fix: str, default: str, **per_lib: str) -> Blocking:
    return Blocking(code, fix, {"asyncio": default, "trio": per_lib.get("trio", default), "anyio": per_lib.get("anyio", default)})


_THREAD = "`await {to_thread}(...)`"
_SLEEP = _b("ASL200", "sleep", "`await asyncio.sleep(...)`", trio="`await trio.sleep(...)`", anyio="`await anyio.sleep(...)`")
_HTTP = _b(
    "ASL210",
    "thread",
    "an async client (`httpx.AsyncClient`, `aiohttp`) or " + _THREAD,
    trio="an async client (`httpx.AsyncClient`) or " + _THREAD,
)
#: ``httpx.stream`` returns a context manager: the request happens when the block is entered, so
#: running the call itself on a thread would not help
_HTTP_STREAM = _b("ASL210", "", "`httpx.AsyncClient().stream(...)`")
_RUN = _b(
    "ASL220",
    "thread",
    "`await asyncio.create_subprocess_exec(...)` or " + _THREAD,
    trio="`await trio.run_process(...)` or " + _THREAD,
    anyio="`await anyio.run_process(...)` or " + _THREAD,
)
_SPAWN = _b(
    "ASL220",
    "",
    "`await asyncio.create_subprocess_exec(...)`",
    trio="`await trio.run_process(...)`",
    anyio="`await anyio.open_process(...)`",
)
_SHELL = _b(
    "ASL220",
    "",
    "`await asyncio.create_subprocess_shell(...)`",
    trio="`await trio.run_process(..., shell=True)`",
    anyio="`await anyio.run_process(...)`",
)
_WAIT = _b(
    "ASL220",
    "",
    "`await process.wait()` on a process from `asyncio.create_subprocess_exec(...)`",
    trio="`await trio.run_process(...)`",
    anyio="`await process.wait()` on a process from `anyio.open_process(...)`",
)
_OPEN = _b(
    "ASL230",
    "",
    "`aiofiles.open(...)`, `anyio.Path`, or `await asyncio.to_thread(...)` around the whole file operation",
    trio="`await trio.open_file(...)` or `trio.Path`",
    anyio="`await anyio.open_file(...)` or `anyio.Path`",
)
_FILE = _b(
    "ASL230",
    "thread",
    _THREAD + " (or `anyio.Path` / `aiofiles`)",
    trio=_THREAD + " (or `trio.Path`)",
    anyio=_THREAD + " (or `anyio.Path`)",
)
_INPUT = _b("ASL240", "thread", _THREAD)
#: no fix: a ``sqlite3`` object may only be used on the thread that created it, and each
#: ``to_thread`` call may run on a different pool thread (``ProgrammingError``)
_SQLITE = _b("ASL260", "", "`aiosqlite`, or one sync function doing all the database work run with " + _THREAD)
_POSTGRES = _b("ASL260", "thread", "`asyncpg` or `psycopg.AsyncConnection` or " + _THREAD)
_MYSQL = _b("ASL260", "thread", "`aiomysql` or " + _THREAD)
_REDIS = _b("ASL260", "thread", "`redis.asyncio.Redis` or " + _THREAD)
_MONGO = _b("ASL260", "thread", "`motor` (`AsyncIOMotorClient`) or " + _THREAD, trio=_THREAD, anyio=_THREAD)
_SOCKET = _b(
    "ASL260",
    "thread",
    "`await asyncio.open_connection(...)` or " + _THREAD,
    trio="`await trio.open_tcp_stream(...)` or " + _THREAD,
    anyio="`await anyio.connect_tcp(...)` or " + _THREAD,
)


def _sync(asyncio_name: str, trio_name: str, anyio_name: str) -> Blocking:
    return _b("ASL250", "", asyncio_name, trio=trio_name, anyio=anyio_name)


_LOCK = _sync("`asyncio.Lock` (`async with lock:`)", "`trio.Lock` (`async with lock:`)", "`anyio.Lock` (`async with lock:`)")
_SEMAPHORE = _sync(
    "`asyncio.Semaphore` (`async with sem:`)", "`trio.Semaphore` (`async with sem:`)", "`anyio.Semaphore` (`async with sem:`)"
)
_CONDITION = _sync(
    "`asyncio.Condition` (`async with cond: await cond.wait()`)",
    "`trio.Condition` (`async with cond: await cond.wait()`)",
    "`anyio.Condition` (`async with cond: await cond.wait()`)",
)
_EVENT = _sync("`await asyncio.Event().wait()`", "`await trio.Event().wait()`", "`await anyio.Event().wait()`")
_BARRIER = _sync("`asyncio.Barrier`", "`await trio.Event().wait()`", "`await anyio.Event().wait()`")
_QUEUE = _sync(
    "`asyncio.Queue` (`await queue.get()` / `await queue.put(item)`)",
    "`trio.open_memory_channel` (`await receive_channel.receive()`)",
    "`anyio.create_memory_object_stream` (`await receive_stream.receive()`)",
)
_FUTURE = _sync(
    "`await asyncio.wrap_future(future)`",
    "`await trio.to_thread.run_sync(future.result)`",
    "`await anyio.to_thread.run_sync(future.result)`",
)
_JOIN = _sync(
    "`await asyncio.to_thread(thread.join)`",
    "`await trio.to_thread.run_sync(thread.join)`",
    "`await anyio.to_thread.run_sync(thread.join)`",
)

_REQUESTS_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
_PATH_CLASSES = ("Path", "PosixPath", "WindowsPath")
_PATH_IO = ("read_text", "read_bytes", "write_text", "write_bytes")

#: functions (and methods named ``Class().method``) matched by exact qualified name
CALLS: dict[str, Blocking] = {
    "time.sleep": _SLEEP,
    # ASL210
    **{f"requests.{v}": _HTTP for v in _REQUESTS_VERBS},
    **{f"requests.api.{v}": _HTTP for v in _REQUESTS_VERBS},
    **{f"httpx.{v}": _HTTP for v in _REQUESTS_VERBS},
    "httpx.stream": _HTTP_STREAM,
    "urllib.request.urlopen": _HTTP,
    "urllib.request.urlretrieve": _HTTP,
    "urllib3.request": _HTTP,
    # ASL220
    **{f"subprocess.{f}": _RUN for f in ("run", "call", "check_call", "check_output", "getoutput", "getstatusoutput")},
    "subprocess.Popen": _SPAWN,
    "os.system": _SHELL,
    "os.popen": _SHELL,
    **{f"os.spawn{s}": _SPAWN for s in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")},
    "os.posix_spawn": _SPAWN,
    "os.posix_spawnp": _SPAWN,
    **{f"os.{w}": _WAIT for w in ("wait", "wait3", "wait4", "waitpid", "waitid")},
    # ASL230
    "builtins.open": _OPEN,
    "io.open": _OPEN,
    "io.open_code": _OPEN,
    "os.fdopen": _OPEN,
    "codecs.open": _OPEN,
    **{f"pathlib.{cls}.{m}": _FILE for cls in _PATH_CLASSES for m in _PATH_IO},
    **{f"pathlib.{cls}.open": _OPEN for cls in _PATH_CLASSES},
    **{f"shutil.{f}": _FILE for f in ("copy", "copy2", "copyfile", "copyfileobj", "copytree", "move", "rmtree")},
    # ASL240
    "builtins.input": _INPUT,
    # ASL260
    "sqlite3.connect": _SQLITE,
    "psycopg2.connect": _POSTGRES,
    "pymysql.connect": _MYSQL,
    "MySQLdb.connect": _MYSQL,
    "socket.create_connection": _SOCKET,
}

_DB_METHODS = frozenset(
    {"execute", "executemany", "executescript", "fetchone", "fetchall", "fetchmany", "commit", "rollback",
     "callproc", "copy_from", "copy_to", "copy_expert", "backup", "nextset"}
)
_SOCKET_METHODS = frozenset(
    {"recv", "recv_into", "recvfrom", "recvfrom_into", "recvmsg", "send", "sendall", "sendto", "sendmsg",
     "sendfile", "accept", "connect", "connect_ex"}
)
_REDIS_METHODS = frozenset(
    {"get", "set", "setex", "setnx", "getset", "mget", "mset", "delete", "exists", "expire", "ttl", "incr",
     "incrby", "decr", "decrby", "keys", "scan", "hget", "hset", "hgetall", "hdel", "hmget", "hmset", "hincrby",
     "lpush", "rpush", "lpop", "rpop", "blpop", "brpop", "lrange", "llen", "sadd", "srem", "smembers",
     "sismember", "zadd", "zrange", "zrem", "zscore", "publish", "ping", "flushdb", "flushall", "execute",
     "eval", "evalsha", "xadd", "xread", "info", "append", "getdel"}
)
_MONGO_METHODS = frozenset(
    {"find", "find_one", "insert_one", "insert_many", "update_one", "update_many", "delete_one", "delete_many",
     "replace_one", "count_documents", "estimated_document_count", "aggregate", "bulk_write", "distinct",
     "find_one_and_update", "find_one_and_delete", "find_one_and_replace", "create_index", "drop",
     "list_database_names", "list_collection_names", "command", "server_info", "watch", "drop_database"}
)
_HTTP_METHODS = frozenset({*_REQUESTS_VERBS, "send"})
_HTTP_CONNECTION = frozenset({"request", "getresponse", "connect", "send"})
_URLLIB3_POOL = frozenset({"request", "urlopen", "request_encode_url", "request_encode_body"})
_RESPONSE_READ = frozenset({"read", "readinto", "readline", "readlines"})


@dataclass(frozen=True)
class Methods:
    """Blocking methods of objects built by a constructor. ``hops``: the object may be reached
    through attributes and subscripts (``client.db.users.find``), not only through calls.
    ``special`` gives some methods their own entry (``Path.open`` has no fix)."""

    blocking: Blocking
    methods: frozenset[str]
    hops: bool = False
    special: tuple[tuple[str, Blocking], ...] = ()

    def entry(self, method: str) -> Blocking:
        for name, blocking in self.special:
            if name == method:
                return blocking
        return self.blocking


_PATH = Methods(_FILE, frozenset({*_PATH_IO, "open"}), hops=True, special=(("open", _OPEN),))
_QUEUE_METHODS = Methods(_QUEUE, frozenset({"get", "put", "join"}))
_FUTURE_METHODS = Methods(_FUTURE, frozenset({"result", "exception"}))

#: constructor -> its objects' blocking methods
METHODS: dict[str, Methods] = {
    # ASL210
    "requests.Session": Methods(_HTTP, _HTTP_METHODS),
    "requests.session": Methods(_HTTP, _HTTP_METHODS),
    "requests.sessions.Session": Methods(_HTTP, _HTTP_METHODS),
    "httpx.Client": Methods(_HTTP, frozenset({*_HTTP_METHODS, "stream"}), special=(("stream", _HTTP_STREAM),)),
    "http.client.HTTPConnection": Methods(_HTTP, _HTTP_CONNECTION),
    "http.client.HTTPSConnection": Methods(_HTTP, _HTTP_CONNECTION),
    "http.client.HTTPConnection().getresponse": Methods(_HTTP, _RESPONSE_READ),
    "http.client.HTTPSConnection().getresponse": Methods(_HTTP, _RESPONSE_READ),
    "urllib.request.build_opener": Methods(_HTTP, frozenset({"open"})),
    "urllib.request.OpenerDirector": Methods(_HTTP, frozenset({"open"})),
    "urllib3.PoolManager": Methods(_HTTP, _URLLIB3_POOL),
    "urllib3.ProxyManager": Methods(_HTTP, _URLLIB3_POOL),
    "urllib3.HTTPConnectionPool": Methods(_HTTP, _URLLIB3_POOL),
    "urllib3.HTTPSConnectionPool": Methods(_HTTP, _URLLIB3_POOL),
    "urllib3.connection_from_url": Methods(_HTTP, _URLLIB3_POOL),
    # ASL220: a Popen object's waits
    "subprocess.Popen": Methods(_WAIT, frozenset({"wait", "communicate"})),
    # ASL230
    **{f"pathlib.{cls}": _PATH for cls in _PATH_CLASSES},
    **{f"pathlib.{cls}.{ctor}": _PATH for cls in _PATH_CLASSES for ctor in ("cwd", "home")},
    # ASL260
    "sqlite3.connect": Methods(_SQLITE, _DB_METHODS),
    "psycopg2.connect": Methods(_POSTGRES, _DB_METHODS),
    "pymysql.connect": Methods(_MYSQL, _DB_METHODS),
    "MySQLdb.connect": Methods(_MYSQL, _DB_METHODS),
    "socket.create_connection": Methods(_SOCKET, _SOCKET_METHODS),
    "socket.socket": Methods(_SOCKET, _SOCKET_METHODS),
    **{
        ctor: Methods(_REDIS, _REDIS_METHODS)
        for ctor in (
            "redis.Redis",
            "redis.StrictRedis",
            "redis.client.Redis",
            "redis.Redis.from_url",
            "redis.StrictRedis.from_url",
            "redis.from_url",
        )
    },
    "pymongo.MongoClient": Methods(_MONGO, _MONGO_METHODS, hops=True),
    "pymongo.mongo_client.MongoClient": Methods(_MONGO, _MONGO_METHODS, hops=True),
    # ASL250
    "threading.Lock": Methods(_LOCK, frozenset({"acquire"})),
    "threading.RLock": Methods(_LOCK, frozenset({"acquire"})),
    "threading.Semaphore": Methods(_SEMAPHORE, frozenset({"acquire"})),
    "threading.BoundedSemaphore": Methods(_SEMAPHORE, frozenset({"acquire"})),
    "threading.Condition": Methods(_CONDITION, frozenset({"acquire", "wait", "wait_for"})),
    "threading.Event": Methods(_EVENT, frozenset({"wait"})),
    "threading.Barrier": Methods(_BARRIER, frozenset({"wait"})),
    "threading.Thread": Methods(_JOIN, frozenset({"join"})),
    "threading.Timer": Methods(_JOIN, frozenset({"join"})),
    **{f"queue.{q}": _QUEUE_METHODS for q in ("Queue", "LifoQueue", "PriorityQueue")},
    # a SimpleQueue is unbounded: put() never blocks
    "queue.SimpleQueue": Methods(_QUEUE, frozenset({"get"})),
    "concurrent.futures.Future": _FUTURE_METHODS,
    "concurrent.futures.ThreadPoolExecutor().submit": _FUTURE_METHODS,
    "concurrent.futures.ProcessPoolExecutor().submit": _FUTURE_METHODS,
    "concurrent.futures.Executor().submit": _FUTURE_METHODS,
    # a concurrent future whose coroutine runs on this very loop: result() here deadlocks
    "asyncio.run_coroutine_threadsafe": _FUTURE_METHODS,
}

#: constructors whose objects block in ``with obj:`` (ASL250)
LOCK_CONSTRUCTORS = frozenset(
    {"threading.Lock", "threading.RLock", "threading.Semaphore", "threading.BoundedSemaphore", "threading.Condition"}
)

_DIRECT_CHAIN = re.compile(r"^\(\)(?:\.\w+\(\))*\.(\w+)$")


def classify_name(name: str, extra: dict[str, str] | None = None) -> tuple[Blocking, str] | None:
    """The table entry for a callee name, and the name as shown in messages."""
    entry = CALLS.get(name)
    if entry is not None:
        return entry, name.removeprefix("builtins.")
    if extra and name in extra:
        instead = {lib: f"`{extra[name]}`" for lib in ("asyncio", "trio", "anyio")}
        return Blocking("ASL260", "thread", instead), name.replace("()", "(...)")
    # a method of a constructed object: try each ``ctor()`` prefix, longest first, so that
    # "concurrent.futures.ThreadPoolExecutor().submit().result" finds the submit() entry
    end = name.rfind("()")
    while end > 0:
        spec = METHODS.get(name[:end])
        if spec is not None:
            found = _method_entry(name, end, spec)
            if found is not None:
                return found
        end = name.rfind("()", 0, end)
    return None


def _method_entry(name: str, end: int, spec: Methods) -> tuple[Blocking, str] | None:
    rest = name[end:]
    method = rest.rsplit(".", 1)[-1]
    if method not in spec.methods:
        return None
    if not spec.hops and _DIRECT_CHAIN.match(rest) is None:
        return None
    if ".pipeline()" in rest and method != "execute":
        return None  # redis pipelines buffer commands; only execute() does I/O
    shown = name.replace("()", "(...)").replace("[]", "[...]")
    return spec.entry(method), shown


#: ASL250 methods: position of the ``block``/``blocking`` flag and of the timeout among the
#: positional arguments (None: the method has no such argument)
_FLAG_AND_TIMEOUT: dict[str, tuple[int | None, int | None]] = {
    "acquire": (0, 1),
    "get": (0, 1),
    "put": (1, 2),
    "wait": (None, 0),
    "wait_for": (None, 1),
    "join": (None, 0),
    "result": (None, 0),
    "exception": (None, 0),
}


def _is_false(value: cst.BaseExpression) -> bool:
    return (isinstance(value, cst.Name) and value.value == "False") or (
        isinstance(value, cst.Integer) and value.value == "0"
    )


def _is_zero(value: cst.BaseExpression) -> bool:
    if isinstance(value, (cst.Integer, cst.Float)):
        try:
            return float(value.value.replace("_", "")) == 0
        except ValueError:
            return False
    return False


def _is_nonblocking_form(call: cst.Call, shown: str) -> bool:
    """``queue.get(False)``, ``q.put(x, block=False)``, ``lock.acquire(blocking=False)``,
    ``event.wait(0)``, ``future.result(timeout=0)``: the forms of blocking primitives that return
    at once instead of waiting."""
    positions = _FLAG_AND_TIMEOUT.get(shown.rsplit(".", 1)[-1])
    if positions is None:
        return False
    flag_at, timeout_at = positions
    positional = []
    for arg in call.args:
        if arg.star:
            return False  # unknown arguments: assume the blocking form
        if arg.keyword is None:
            positional.append(arg.value)
        elif arg.keyword.value in ("block", "blocking") and flag_at is not None:
            if _is_false(arg.value):
                return True
        elif arg.keyword.value == "timeout" and _is_zero(arg.value):
            return True
    if flag_at is not None and len(positional) > flag_at and _is_false(positional[flag_at]):
        return True
    return timeout_at is not None and len(positional) > timeout_at and _is_zero(positional[timeout_at])


def to_thread_name(lib: str) -> str:
    return {"asyncio": "asyncio.to_thread", "trio": "trio.to_thread.run_sync", "anyio": "anyio.to_thread.run_sync"}[lib]


class BlockingCallRule(Rule):
    """Shared behaviour of the ASL2xx rules: a table-driven check of every call in a coroutine body.

    Subclasses only set ``code``, ``slug``, the docstring and examples; the tables above decide
    which calls belong to which code. Calls that are awaited, and callables passed without being
    called (``asyncio.to_thread(time.sleep, 1)``), are never flagged: they are not calls here.
    """

    message = "`{call}` blocks the event loop; use {instead}"
    requires = COROUTINE_DEF

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        if not ctx.in_coroutine or ctx.is_awaited(node):
            return
        match = _classify_call(ctx, node)
        if match is None or match[0].code != self.code:
            return
        receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
        if isinstance(receiver, cst.Call):
            inner = _classify_call(ctx, receiver)
            if inner is not None and inner[0].code == self.code:
                # ``conn.execute(q).fetchall()``: one finding for the chain, on the call that
                # blocks first; once it is fixed, the next round reports the rest
                return
        entry, shown = match
        lib = ctx.library
        instead = entry.instead[lib].replace("{to_thread}", to_thread_name(lib))
        self.report(node, fix=self.build_fix(node, entry), call=f"{shown}(...)", instead=instead)

    def build_fix(self, node: cst.Call, entry: Blocking) -> Fix | None:
        ctx = self.ctx
        if not entry.fix or not rewrite.can_await_here(ctx):
            return None
        if entry.fix == "sleep":
            replacement, imports = rewrite.library_call(ctx, node, "sleep")
            return Fix(f"Replace with `await {ctx.library}.sleep(...)`", Safety.SAFE, [(node, replacement)], imports, adds_await=True)
        replacement, imports = rewrite.thread_wrapper(ctx, node)
        title = f"Run in a worker thread with `await {to_thread_name(ctx.library)}`"
        if ctx.library == "asyncio" and ctx.config.uses_run_in_executor:
            title = "Run in a worker thread with `await loop.run_in_executor(...)`"
        return Fix(title, Safety.UNSAFE, [(node, replacement)], imports, adds_await=True)


def _classify_call(ctx: Context, node: cst.Call) -> tuple[Blocking, str] | None:
    """Memoised per call node: six rules ask about the same call."""
    cache: dict[int, tuple[Blocking, str] | None] = ctx.memo("blocking", dict)  # type: ignore[assignment]
    key = id(node)
    if key not in cache:
        found: tuple[Blocking, str] | None = None
        extra = ctx.config.extra_blocking_calls
        for name in sorted(ctx.callee_names(node)):
            found = classify_name(name, extra)
            if found is not None:
                if found[0].code == "ASL250" and _is_nonblocking_form(node, found[1]):
                    found = None
                break
        cache[key] = found
    return cache[key]




def lock_in_with(ctx: Context, expr: cst.BaseExpression) -> tuple[Blocking, str] | None:
    """The lock entry for ``with expr:`` when ``expr`` is a lock object built elsewhere in the
    module or function (a lock built right in the ``with`` cannot be held by anyone else)."""
    if isinstance(expr, cst.Call):
        return None
    for name in sorted(ctx.instance_names(expr)):
        ctor = name[:-2] if name.endswith("()") else ""
        if ctor in LOCK_CONSTRUCTORS:
            return METHODS[ctor].blocking, f"{ctor}(...)"
    return None
