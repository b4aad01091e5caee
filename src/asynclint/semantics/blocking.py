"""The tables of blocking callables (data, not code) and the shared ASL2xx call classifier.

Names use the notation of :meth:`Context.callee_names`: ``time.sleep`` for a function,
``requests.Session().get`` for a method of an object built by ``requests.Session(...)``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
import libcst as cst

from asynclint.rule import Fix, Rule, Safety
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
_WAIT = _b("ASL220", "", "`await process.wait()` on an `asyncio` subprocess or " + _THREAD)
_OPEN = _b(
    "ASL230",
    "",
    "`aiofiles.open(...)`, `anyio.Path`, or `await asyncio.to_thread(...)` around the whole file operation",
    trio="`await trio.open_file(...)` or `trio.Path`",
    anyio="`await anyio.open_file(...)` or `anyio.Path`",
)
_FILE = _b("ASL230", "thread", _THREAD + " (or `anyio.Path` / `aiofiles`)", trio=_THREAD + " (or `trio.Path`)", anyio=_THREAD + " (or `anyio.Path`)")
_INPUT = _b("ASL240", "thread", _THREAD)
_CLIENT = _b("ASL260", "thread", "an async driver or " + _THREAD)


def _sync(name: str, asyncio_name: str, trio_name: str) -> Blocking:
    return _b("ASL250", "", f"`{asyncio_name}`", trio=f"`{trio_name}`", anyio=f"`{trio_name.replace('trio.', 'anyio.')}`")


_REQUESTS_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")

#: functions (and methods named ``Class().method``) matched by exact qualified name
CALLS: dict[str, Blocking] = {
    "time.sleep": _SLEEP,
    **{f"requests.{v}": _HTTP for v in _REQUESTS_VERBS},
    **{f"requests.api.{v}": _HTTP for v in _REQUESTS_VERBS},
    **{f"httpx.{v}": _HTTP for v in (*_REQUESTS_VERBS, "stream")},
    "urllib.request.urlopen": _HTTP,
    "urllib.request.urlretrieve": _HTTP,
    "urllib3.request": _HTTP,
    **{f"subprocess.{f}": _RUN for f in ("run", "call", "check_call", "check_output", "getoutput", "getstatusoutput")},
    "subprocess.Popen": _SPAWN,
    "os.system": _SHELL,
    "os.popen": _SHELL,
    **{f"os.spawn{s}": _SPAWN for s in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")},
    "os.posix_spawn": _SPAWN,
    "os.posix_spawnp": _SPAWN,
    **{f"os.{w}": _WAIT for w in ("wait", "wait3", "wait4", "waitpid", "waitid")},
    "builtins.open": _OPEN,
    "io.open": _OPEN,
    "os.fdopen": _OPEN,
    "codecs.open": _OPEN,
    **{
        f"pathlib.{cls}.{m}": _FILE
        for cls in ("Path", "PosixPath", "WindowsPath")
        for m in ("read_text", "read_bytes", "write_text", "write_bytes")
    },
    **{f"shutil.{f}": _FILE for f in ("copy", "copy2", "copyfile", "copyfileobj", "copytree", "move", "rmtree")},
    "builtins.input": _INPUT,
    "sqlite3.connect": _CLIENT,
    "psycopg2.connect": _CLIENT,
    "pymysql.connect": _CLIENT,
    "MySQLdb.connect": _CLIENT,
    "socket.create_connection": _CLIENT,
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


@dataclass(frozen=True)
class Methods:
    """Blocking methods of objects built by a constructor. ``hops``: the object may be reached
    through attributes and subscripts (``client.db.users.find``), not only through calls."""

    blocking: Blocking
    methods: frozenset[str]
    hops: bool = False


_SYNC_LOCK = _sync("lock", "asyncio.Lock", "trio.Lock")
#: constructor -> its objects' blocking methods
METHODS: dict[str, Methods] = {
    "requests.Session": Methods(_HTTP, _HTTP_METHODS),
    "requests.session": Methods(_HTTP, _HTTP_METHODS),
    "requests.sessions.Session": Methods(_HTTP, _HTTP_METHODS),
    "httpx.Client": Methods(_HTTP, frozenset({*_HTTP_METHODS, "stream"})),
    "http.client.HTTPConnection": Methods(_HTTP, frozenset({"request", "getresponse", "connect", "send"})),
    "http.client.HTTPSConnection": Methods(_HTTP, frozenset({"request", "getresponse", "connect", "send"})),
    "urllib3.PoolManager": Methods(_HTTP, frozenset({"request", "urlopen", "request_encode_url", "request_encode_body"})),
    "urllib3.HTTPConnectionPool": Methods(_HTTP, frozenset({"request", "urlopen"})),
    "urllib3.HTTPSConnectionPool": Methods(_HTTP, frozenset({"request", "urlopen"})),
    "urllib3.connection_from_url": Methods(_HTTP, frozenset({"request", "urlopen"})),
    "pathlib.Path": Methods(_FILE, frozenset({"read_text", "read_bytes", "write_text", "write_bytes"})),
    "pathlib.PosixPath": Methods(_FILE, frozenset({"read_text", "read_bytes", "write_text", "write_bytes"})),
    "pathlib.WindowsPath": Methods(_FILE, frozenset({"read_text", "read_bytes", "write_text", "write_bytes"})),
    "sqlite3.connect": Methods(_CLIENT, _DB_METHODS),
    "psycopg2.connect": Methods(_CLIENT, _DB_METHODS),
    "pymysql.connect": Methods(_CLIENT, _DB_METHODS),
    "MySQLdb.connect": Methods(_CLIENT, _DB_METHODS),
    "socket.create_connection": Methods(_CLIENT, _SOCKET_METHODS),
    "socket.socket": Methods(_CLIENT, _SOCKET_METHODS),
    "redis.Redis": Methods(_CLIENT, _REDIS_METHODS),
    "redis.StrictRedis": Methods(_CLIENT, _REDIS_METHODS),
    "redis.Redis.from_url": Methods(_CLIENT, _REDIS_METHODS),
    "redis.from_url": Methods(_CLIENT, _REDIS_METHODS),
    "pymongo.MongoClient": Methods(_CLIENT, _MONGO_METHODS, hops=True),
    "threading.Lock": Methods(_SYNC_LOCK, frozenset({"acquire"})),
    "threading.RLock": Methods(_SYNC_LOCK, frozenset({"acquire"})),
    "threading.Semaphore": Methods(_sync("semaphore", "asyncio.Semaphore", "trio.Semaphore"), frozenset({"acquire"})),
    "threading.BoundedSemaphore": Methods(_sync("semaphore", "asyncio.BoundedSemaphore", "trio.Semaphore"), frozenset({"acquire"})),
    "threading.Condition": Methods(_sync("condition", "asyncio.Condition", "trio.Condition"), frozenset({"acquire", "wait", "wait_for"})),
    "threading.Event": Methods(_sync("event", "asyncio.Event", "trio.Event"), frozenset({"wait"})),
    "threading.Barrier": Methods(_sync("barrier", "asyncio.Barrier", "trio.Event"), frozenset({"wait"})),
    "threading.Thread": Methods(_sync("thread", "await asyncio.to_thread(...)", "trio.to_thread.run_sync"), frozenset({"join"})),
    **{
        f"queue.{q}": Methods(_sync("queue", "asyncio.Queue", "trio.open_memory_channel"), frozenset({"get", "put"}))
        for q in ("Queue", "LifoQueue", "PriorityQueue", "SimpleQueue")
    },
    "concurrent.futures.Future": Methods(_sync("future", "await asyncio.wrap_future(future)", "trio.to_thread.run_sync"), frozenset({"result", "exception"})),
    "concurrent.futures.ThreadPoolExecutor().submit": Methods(
        _sync("future", "await asyncio.wrap_future(future)", "trio.to_thread.run_sync"), frozenset({"result", "exception"})
    ),
    "concurrent.futures.ProcessPoolExecutor().submit": Methods(
        _sync("future", "await asyncio.wrap_future(future)", "trio.to_thread.run_sync"), frozenset({"result", "exception"})
    ),
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
        return Blocking("ASL260", "thread", {lib: f"`{extra[name]}`" for lib in ("asyncio", "trio", "anyio")}), name
    # longest constructor prefix first: "concurrent.futures.ThreadPoolExecutor().submit" before others
    for ctor, spec in _methods_by_length():
        if not name.startswith(ctor + "()"):
            continue
        rest = name[len(ctor):]
        method = rest.rsplit(".", 1)[-1]
        if method not in spec.methods:
            continue
        if not spec.hops and _DIRECT_CHAIN.match(rest) is None:
            continue
        if ".pipeline()" in rest and method != "execute":
            continue  # redis pipelines buffer commands; only execute() does I/O
        return spec.blocking, f"{ctor}(...).{method}"
    return None


_SORTED: list[tuple[str, Methods]] = []


def _methods_by_length() -> list[tuple[str, Methods]]:
    if not _SORTED:
        _SORTED.extend(sorted(METHODS.items(), key=lambda kv: -len(kv[0])))
    return _SORTED


_NONBLOCKING_FALSE = ("False", "0")


def _is_nonblocking_form(call: cst.Call, shown: str) -> bool:
    """``queue.get(False)``, ``q.put(x, block=False)``, ``lock.acquire(blocking=False)``,
    ``acquire(timeout=0)``: the non-blocking forms of blocking primitives."""
    method = shown.rsplit(".", 1)[-1]
    if method not in ("get", "put", "acquire") or not any(q in shown for q in ("queue.", "threading.")):
        return False
    positional_index = {"get": 0, "put": 1, "acquire": 0}[method]
    positional = [a for a in call.args if a.keyword is None and not a.star]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in ("block", "blocking"):
            return isinstance(arg.value, cst.Name) and arg.value.value in _NONBLOCKING_FALSE or (
                isinstance(arg.value, cst.Integer) and arg.value.value == "0"
            )
        if arg.keyword is not None and arg.keyword.value == "timeout":
            if isinstance(arg.value, (cst.Integer, cst.Float)) and float(arg.value.value) == 0:
                return True
    if len(positional) > positional_index:
        value = positional[positional_index].value
        return (isinstance(value, cst.Name) and value.value == "False") or (isinstance(value, cst.Integer) and value.value == "0")
    return False


def to_thread_name(lib: str) -> str:
    return {"asyncio": "asyncio.to_thread", "trio": "trio.to_thread.run_sync", "anyio": "anyio.to_thread.run_sync"}[lib]


class BlockingCallRule(Rule):
    """Shared behaviour of the ASL2xx rules: a table-driven check of every call in a coroutine body.

    Subclasses only set ``code``, ``slug``, the docstring and examples; the tables above decide
    which calls belong to which code. Calls that are awaited, and callables passed without being
    called (``asyncio.to_thread(time.sleep, 1)``), are never flagged: they are not calls here.
    """

    message = "`{call}(...)` blocks the event loop; use {instead}"

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        if not ctx.in_coroutine or ctx.is_awaited(node):
            return
        match = _classify_call(ctx, node)
        if match is None or match[0].code != self.code:
            return
        entry, shown = match
        lib = ctx.library
        instead = entry.instead[lib].replace("{to_thread}", to_thread_name(lib))
        self.report(node, fix=self.build_fix(node, entry), call=shown, instead=instead)

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


