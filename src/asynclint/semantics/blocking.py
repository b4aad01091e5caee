"""The tables of blocking callables (data, not code), the shared ASL2xx call classifier, and where a thread lock is held across an await.

Names use the notation of :meth:`Context.callee_names`: ``time.sleep`` for a function,
``requests.Session().get`` for a method of an object built by ``requests.Session(...)``.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import PositionProvider

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
    #: a thread lock's ``acquire``: taking it is brief, so ASL250 reports it only when the lock
    #: is held across an ``await`` (:func:`held_in_with`, :func:`held_after_acquire`), never as a
    #: blocking call
    held: bool = False


def _b(code: str, fix: str, default: str, held: bool = False, **per_lib: str) -> Blocking:
    instead = {"asyncio": default, "trio": per_lib.get("trio", default), "anyio": per_lib.get("anyio", default)}
    return Blocking(code, fix, instead, held)


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
#: a method of a sync file object (``f.read()``, ``LOG.write(...)``): reported when the file was
#: opened elsewhere (a module-level file, a parameter typed as a file); a file this coroutine
#: opens is reported once, at its ``open()`` (see :func:`classify_call`)
_FILE_METHOD = _b(
    "ASL230",
    "thread",
    _THREAD + " (or an async file: `aiofiles`, `anyio.open_file`)",
    trio=_THREAD + " (or `trio.open_file`)",
    anyio=_THREAD + " (or `anyio.open_file`)",
)
#: ASL231: one file-system call (metadata, directories), one syscall on a worker thread
_FS = _b(
    "ASL231",
    "thread",
    _THREAD + " (or `anyio.Path` / `aiofiles.os`)",
    trio=_THREAD + " (or `trio.Path`)",
    anyio=_THREAD + " (or `anyio.Path`)",
)
#: a lazy walk (``os.walk``, ``os.scandir``, ``Path.glob``): every step of the iteration touches
#: the disk, so running the call on a thread would not help
_FS_ITER = _b(
    "ASL231",
    "",
    "`await asyncio.to_thread(lambda: list(...))` (or `anyio.Path` / `aiofiles.os`)",
    trio="`await trio.to_thread.run_sync(lambda: list(...))` (or `trio.Path`)",
    anyio="`await anyio.to_thread.run_sync(lambda: list(...))` (or `anyio.Path`)",
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


def _sync(asyncio_name: str, trio_name: str, anyio_name: str, held: bool = False) -> Blocking:
    return _b("ASL250", "", asyncio_name, held, trio=trio_name, anyio=anyio_name)


#: locks: ``instead`` names the task lock to use when only tasks share it
_LOCK = _sync("`asyncio.Lock`", "`trio.Lock`", "`anyio.Lock`", held=True)
_RLOCK = _sync("`asyncio.Lock`", "`trio.Lock`", "`anyio.Lock`", held=True)
_SEMAPHORE = _sync("`asyncio.Semaphore`", "`trio.Semaphore`", "`anyio.Semaphore`", held=True)
_CONDITION_LOCK = _sync("`asyncio.Condition`", "`trio.Condition`", "`anyio.Condition`", held=True)
#: an RLock (and a Condition, built on one by default) belongs to the thread: other tasks of the
#: loop thread re-enter it instead of blocking
REENTRANT_LOCKS = (_RLOCK, _CONDITION_LOCK)
_CONDITION = _sync(
    "`asyncio.Condition` (`async with cond: await cond.wait()`)",
    "`trio.Condition` (`async with cond: await cond.wait()`)",
    "`anyio.Condition` (`async with cond: await cond.wait()`)",
)
_EVENT = _sync("`await asyncio.Event().wait()`", "`await trio.Event().wait()`", "`await anyio.Event().wait()`")
_BARRIER = _sync("`asyncio.Barrier`", "`await trio.Event().wait()`", "`await anyio.Event().wait()`")
_QUEUE_GET = _sync(
    "`asyncio.Queue` (`await queue.get()`)",
    "`trio.open_memory_channel` (`await receive_channel.receive()`)",
    "`anyio.create_memory_object_stream` (`await receive_stream.receive()`)",
)
_QUEUE_PUT = _sync(
    "`asyncio.Queue` (`await queue.put(item)`)",
    "`trio.open_memory_channel` (`await send_channel.send(item)`)",
    "`anyio.create_memory_object_stream` (`await send_stream.send(item)`)",
)
#: the consumers that ``join()`` waits for are threads: wait on a worker thread too
_QUEUE_JOIN = _sync(
    "`await asyncio.to_thread(queue.join)`",
    "`await trio.to_thread.run_sync(queue.join)`",
    "`await anyio.to_thread.run_sync(queue.join)`",
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
#: ASL231: ``os.path`` functions that ask the file system (not the pure string ones: ``join``,
#: ``normpath``, ``basename``, ``relpath``, ``abspath``, ...)
_OS_PATH_FS = (
    "exists", "lexists", "isfile", "isdir", "islink", "ismount", "isjunction", "getsize", "getmtime",
    "getatime", "getctime", "samefile", "sameopenfile", "realpath",
)
_OS_FS = (
    "stat", "lstat", "listdir", "makedirs", "mkdir", "remove", "unlink", "rename", "renames", "replace",
    "rmdir", "removedirs", "chmod", "chown", "lchown", "utime", "access", "readlink", "symlink", "link",
    "statvfs", "truncate", "mkfifo",
)
_OS_FS_ITER = ("walk", "scandir", "fwalk")
_PATH_FS = (
    "exists", "is_file", "is_dir", "is_symlink", "is_mount", "is_socket", "is_fifo", "is_block_device",
    "is_char_device", "is_junction", "stat", "lstat", "mkdir", "unlink", "rename", "replace", "touch",
    "rmdir", "chmod", "lchmod", "resolve", "samefile", "owner", "group", "readlink", "symlink_to",
    "hardlink_to",
)
_PATH_FS_ITER = ("iterdir", "glob", "rglob", "walk")
#: methods of a sync file object that read, write or move in the file
_FILE_METHODS = frozenset(
    {"read", "read1", "readinto", "readinto1", "readline", "readlines", "write", "writelines", "flush", "seek",
     "truncate", "close"}
)
#: what builds a sync file object, and the types a parameter is declared as
_FILE_OBJECTS = (
    "builtins.open", "io.open", "io.open_code", "os.fdopen", "codecs.open",
    *(f"pathlib.{cls}().open" for cls in _PATH_CLASSES),
    "io.TextIOWrapper", "io.BufferedReader", "io.BufferedWriter", "io.BufferedRandom", "io.FileIO",
    "_io.TextIOWrapper", "_io.BufferedReader", "_io.BufferedWriter", "_io.BufferedRandom", "_io.FileIO",
)
# not ``typing.IO``/``TextIO``/``BinaryIO``: on real code a parameter so declared is as often an
# in-memory buffer (``download_to_memory(out: BinaryIO)`` is handed a ``BytesIO``) as a file

_SSL = _b(
    "ASL230",
    "thread",
    _THREAD + ", or build the context once at startup (it reads the certificate files from disk)",
)
_DNS = _b(
    "ASL260",
    "thread",
    "`await loop.getaddrinfo(...)` (the event loop resolves on a thread) or " + _THREAD,
    trio="`await trio.socket.getaddrinfo(...)`",
    anyio="`await anyio.getaddrinfo(...)`",
)

#: functions (and methods named ``Class().method``) matched by exact qualified name
CALLS: dict[str, Blocking] = {
    "time.sleep": _SLEEP,
    # ASL210
    **{f"requests.{v}": _HTTP for v in _REQUESTS_VERBS},
    **{f"requests.api.{v}": _HTTP for v in _REQUESTS_VERBS},
    **{f"{httpx}.{v}": _HTTP for httpx in ("httpx", "httpx2") for v in _REQUESTS_VERBS},
    "httpx.stream": _HTTP_STREAM,
    "httpx2.stream": _HTTP_STREAM,
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
    # ASL231
    **{f"{mod}.{f}": _FS for mod in ("os.path", "posixpath", "ntpath", "genericpath") for f in _OS_PATH_FS},
    **{f"os.{f}": _FS for f in _OS_FS},
    **{f"os.{f}": _FS_ITER for f in _OS_FS_ITER},
    "glob.glob": _FS,
    "glob.iglob": _FS_ITER,
    "shutil.disk_usage": _FS,
    "shutil.chown": _FS,
    # ASL240
    "builtins.input": _INPUT,
    # ASL260
    "sqlite3.connect": _SQLITE,
    "psycopg2.connect": _POSTGRES,
    "pymysql.connect": _MYSQL,
    "MySQLdb.connect": _MYSQL,
    "socket.create_connection": _SOCKET,
    # not ``getnameinfo``: with ``NI_NUMERICHOST`` (its common use, aiohttp's resolver) it only formats
    **{f"socket.{f}": _DNS for f in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getfqdn")},
    # ASL230: the default context loads the system's CA certificates from disk
    "ssl.create_default_context": _SSL,
    "ssl.get_server_certificate": _SSL,
    "importlib.import_module": _b(
        "ASL230",
        "thread",
        "an import at module level, or " + _THREAD + " (an import reads and runs the module's files)",
    ),
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
    #: every public method blocks except those matching ``local`` (an SDK client: each call is
    #: a request; ``get_container_client()``, ``Bucket(...)``, ``with_options()`` only build objects)
    any_method: bool = False
    local: re.Pattern[str] | None = None

    def blocks(self, method: str) -> bool:
        if method in self.methods:
            return True
        if not self.any_method or method.startswith("_"):
            return False
        return self.local is None or self.local.fullmatch(method) is None

    def entry(self, method: str) -> Blocking:
        for name, blocking in self.special:
            if name == method:
                return blocking
        return self.blocking


_PATH = Methods(
    _FILE,
    frozenset({*_PATH_IO, "open", *_PATH_FS, *_PATH_FS_ITER}),
    hops=True,
    special=(("open", _OPEN), *((m, _FS) for m in _PATH_FS), *((m, _FS_ITER) for m in _PATH_FS_ITER)),
)
_QUEUE_METHODS = Methods(_QUEUE_GET, frozenset({"get", "put", "join"}), special=(("put", _QUEUE_PUT), ("join", _QUEUE_JOIN)))
_FUTURE_METHODS = Methods(_FUTURE, frozenset({"result", "exception"}))

def _sdk(twin: str) -> Blocking:
    return _b("ASL260", "thread", f"the async client `{twin}` or " + _THREAD)


#: Azure SDK clients -> their async twins in the ``.aio`` package; building a sub-client
#: (``get_container_client``, ``get_queue_sender``) makes no request
_AZURE_CLIENTS = {
    "azure.storage.blob": ("BlobServiceClient", "ContainerClient", "BlobClient"),
    "azure.storage.queue": ("QueueServiceClient", "QueueClient"),
    "azure.storage.filedatalake": ("DataLakeServiceClient", "FileSystemClient", "DataLakeFileClient", "DataLakeDirectoryClient"),
    "azure.storage.fileshare": ("ShareServiceClient", "ShareClient", "ShareFileClient", "ShareDirectoryClient"),
    "azure.data.tables": ("TableServiceClient", "TableClient"),
    "azure.cosmos": ("CosmosClient",),
    "azure.servicebus": ("ServiceBusClient",),
    "azure.eventhub": ("EventHubProducerClient", "EventHubConsumerClient"),
    "azure.keyvault.secrets": ("SecretClient",),
    "azure.keyvault.keys": ("KeyClient",),
    "azure.keyvault.certificates": ("CertificateClient",),
    "azure.appconfiguration": ("AzureAppConfigurationClient",),
}
_AZURE_CREDENTIALS = (
    "DefaultAzureCredential", "ClientSecretCredential", "CertificateCredential", "ManagedIdentityCredential",
    "AzureCliCredential", "WorkloadIdentityCredential", "EnvironmentCredential", "ChainedTokenCredential",
    "InteractiveBrowserCredential", "DeviceCodeCredential", "UsernamePasswordCredential",
    "AzureDeveloperCliCredential", "AzurePowerShellCredential", "OnBehalfOfCredential",
)
_AZURE_FACTORIES = ("", ".from_connection_string", ".from_container_url", ".from_blob_url", ".from_queue_url", ".from_table_url")
_AZURE_LOCAL = re.compile(r"get_\w+_(client|sender|receiver)|close|url|\w+_name|api_version|credential")
_OPENAI_LOCAL = re.compile(
    r"with_options|copy|with_raw_response|with_streaming_response|close|is_closed|platform_headers|auth_headers|"
    r"default_headers|default_query|qs"
)
_BOTO3_CLIENT_LOCAL = re.compile(
    r"get_paginator|get_waiter|can_paginate|generate_presigned_url|generate_presigned_post|close|meta|exceptions|paginate"
)
#: a boto3 resource's sub-resources are built by capitalised factories (``Bucket(...)``, ``Table(...)``)
_BOTO3_RESOURCE_LOCAL = re.compile(r"[A-Z]\w*|meta|get_available_subresources")
_STORAGE_IO = frozenset(
    {"upload_from_string", "upload_from_filename", "upload_from_file", "download_as_bytes", "download_as_text",
     "download_as_string", "download_to_filename", "download_to_file", "exists", "reload", "delete", "list_blobs",
     "get_bucket", "create_bucket", "list_buckets", "lookup_bucket", "patch", "update", "compose", "rewrite",
     "copy_blob", "rename_blob", "make_public", "get_blob", "delete_blobs"}
)
_FIRESTORE_IO = frozenset(
    {"get", "get_all", "stream", "set", "add", "update", "delete", "create", "commit", "list_documents", "collections",
     "count"}
)
_SMTP_IO = frozenset(
    {"connect", "login", "starttls", "ehlo", "helo", "ehlo_or_helo_if_needed", "sendmail", "send_message", "quit",
     "noop", "verify", "auth", "rset", "docmd", "mail", "rcpt", "data"}
)
_FTP_IO = frozenset(
    {"connect", "login", "cwd", "nlst", "dir", "retrbinary", "retrlines", "storbinary", "storlines", "delete",
     "rename", "mkd", "rmd", "size", "quit", "sendcmd", "voidcmd", "mlsd", "pwd", "prot_p", "auth"}
)
_MAIL_IO = frozenset(
    {"login", "select", "search", "fetch", "store", "logout", "list", "uid", "append", "copy", "expunge", "noop",
     "user", "pass_", "stat", "retr", "dele", "quit", "top", "apop"}
)
_TELNET_IO = frozenset({"open", "read_until", "read_all", "read_some", "read_very_eager", "read_eager", "write", "expect"})
_SSL_LOADS = frozenset({"load_verify_locations", "load_cert_chain", "load_default_certs", "set_default_verify_paths"})
#: constructor -> its objects' blocking methods
METHODS: dict[str, Methods] = {
    # ASL260: SDK clients with async twins
    **{
        f"{package}.{cls}{factory}": Methods(_sdk(f"{package}.aio.{cls}"), frozenset(), any_method=True, local=_AZURE_LOCAL)
        for package, classes in _AZURE_CLIENTS.items()
        for cls in classes
        for factory in _AZURE_FACTORIES
    },
    **{
        f"azure.identity.{cls}": Methods(_sdk(f"azure.identity.aio.{cls}"), frozenset({"get_token", "get_token_info"}))
        for cls in _AZURE_CREDENTIALS
    },
    **{
        ctor: Methods(_sdk(twin), frozenset(), hops=True, any_method=True, local=_OPENAI_LOCAL)
        for ctor, twin in (
            ("openai.OpenAI", "openai.AsyncOpenAI"),
            ("openai.AzureOpenAI", "openai.AsyncAzureOpenAI"),
            ("openai.Client", "openai.AsyncClient"),
            ("anthropic.Anthropic", "anthropic.AsyncAnthropic"),
            ("anthropic.AnthropicBedrock", "anthropic.AsyncAnthropicBedrock"),
            ("anthropic.AnthropicVertex", "anthropic.AsyncAnthropicVertex"),
            ("anthropic.Client", "anthropic.AsyncClient"),
        )
    },
    **{
        ctor: Methods(_sdk("elasticsearch.AsyncElasticsearch"), frozenset(), hops=True, any_method=True, local=re.compile(r"options|close"))
        for ctor in ("elasticsearch.Elasticsearch", "elasticsearch.client.Elasticsearch")
    },
    **{
        ctor: Methods(_sdk("aioboto3 / aiobotocore"), frozenset(), any_method=True, local=_BOTO3_CLIENT_LOCAL)
        for ctor in ("boto3.client", "boto3.Session().client", "boto3.session.Session().client")
    },
    **{
        ctor: Methods(_sdk("aioboto3"), frozenset(), any_method=True, local=_BOTO3_RESOURCE_LOCAL)
        for ctor in ("boto3.resource", "boto3.Session().resource", "boto3.session.Session().resource")
    },
    "google.cloud.storage.Client": Methods(_sdk("gcloud-aio-storage"), _STORAGE_IO),
    "google.cloud.firestore.Client": Methods(_sdk("google.cloud.firestore.AsyncClient"), _FIRESTORE_IO),
    "google.cloud.bigquery.Client": Methods(_sdk("a thread"), frozenset(), any_method=True, local=re.compile(r"dataset|close")),
    **{f"smtplib.{c}": Methods(_sdk("aiosmtplib.SMTP"), _SMTP_IO) for c in ("SMTP", "SMTP_SSL", "LMTP")},
    **{f"ftplib.{c}": Methods(_sdk("aioftp.Client"), _FTP_IO) for c in ("FTP", "FTP_TLS")},
    **{f"imaplib.{c}": Methods(_sdk("aioimaplib"), _MAIL_IO) for c in ("IMAP4", "IMAP4_SSL")},
    **{f"poplib.{c}": Methods(_sdk("a thread"), _MAIL_IO) for c in ("POP3", "POP3_SSL")},
    "telnetlib.Telnet": Methods(_sdk("telnetlib3"), _TELNET_IO),
    # ASL230: certificate files read into an SSL context
    "ssl.SSLContext": Methods(_SSL, _SSL_LOADS),
    "ssl.create_default_context": Methods(_SSL, _SSL_LOADS),
    # ASL210
    "requests.Session": Methods(_HTTP, _HTTP_METHODS),
    "requests.session": Methods(_HTTP, _HTTP_METHODS),
    "requests.sessions.Session": Methods(_HTTP, _HTTP_METHODS),
    # httpx2 is the maintained continuation of httpx, with the same API
    **{
        f"{httpx}.Client": Methods(_HTTP, frozenset({*_HTTP_METHODS, "stream", "close"}), special=(("stream", _HTTP_STREAM),))
        for httpx in ("httpx", "httpx2")
    },
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
    **{
        f"urllib3.{path}": Methods(_HTTP, _URLLIB3_POOL)
        for path in (
            "connectionpool.ConnectionPool",
            "connectionpool.HTTPConnectionPool",
            "connectionpool.HTTPSConnectionPool",
            "poolmanager.PoolManager",
            "poolmanager.ProxyManager",
            "request.RequestMethods",
            "_request_methods.RequestMethods",
        )
    },
    # ASL220: a Popen object's waits
    "subprocess.Popen": Methods(_WAIT, frozenset({"wait", "communicate"})),
    # ASL230
    **{f"pathlib.{cls}": _PATH for cls in _PATH_CLASSES},
    **{f"pathlib.{cls}.{ctor}": _PATH for cls in _PATH_CLASSES for ctor in ("cwd", "home")},
    # ASL230: a file object's reads and writes
    **{ctor: Methods(_FILE_METHOD, _FILE_METHODS) for ctor in _FILE_OBJECTS},
    # ASL260
    "sqlite3.connect": Methods(_SQLITE, _DB_METHODS),
    # the same objects declared by type (``conn: sqlite3.Connection``)
    "sqlite3.Connection": Methods(_SQLITE, _DB_METHODS),
    "sqlite3.Cursor": Methods(_SQLITE, _DB_METHODS),
    "psycopg2.extensions.connection": Methods(_POSTGRES, _DB_METHODS),
    "psycopg2.extensions.cursor": Methods(_POSTGRES, _DB_METHODS),
    "pymongo.collection.Collection": Methods(_MONGO, _MONGO_METHODS),
    "pymongo.database.Database": Methods(_MONGO, _MONGO_METHODS, hops=True),
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
    "threading.RLock": Methods(_RLOCK, frozenset({"acquire"})),
    "threading.Semaphore": Methods(_SEMAPHORE, frozenset({"acquire"})),
    "threading.BoundedSemaphore": Methods(_SEMAPHORE, frozenset({"acquire"})),
    "threading.Condition": Methods(
        _CONDITION_LOCK, frozenset({"acquire", "wait", "wait_for"}), special=(("wait", _CONDITION), ("wait_for", _CONDITION))
    ),
    "threading.Event": Methods(_EVENT, frozenset({"wait"})),
    "threading.Barrier": Methods(_BARRIER, frozenset({"wait"})),
    "threading.Thread": Methods(_JOIN, frozenset({"join"})),
    "threading.Timer": Methods(_JOIN, frozenset({"join"})),
    **{f"queue.{q}": _QUEUE_METHODS for q in ("Queue", "LifoQueue", "PriorityQueue")},
    # a SimpleQueue is unbounded: put() never blocks
    "queue.SimpleQueue": Methods(_QUEUE_GET, frozenset({"get"})),
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


#: attributes of an SDK client that are plain values, not resources (``client.api_key.strip()``)
_CLIENT_VALUES = frozenset(
    {"api_key", "base_url", "organization", "project", "timeout", "max_retries", "websocket_base_url", "webhook_secret",
     "default_headers", "default_query", "auth_headers", "transport", "hosts", "meta"}
)
#: what a ``Path`` hop turns into a string or a tuple (``path.name.replace(...)`` is ``str.replace``)
_PATH_TO_VALUE = frozenset(
    {"name", "stem", "suffix", "suffixes", "as_posix", "as_uri", "anchor", "drive", "root", "parts", "__str__",
     "__fspath__", "read_text", "read_bytes"}
)


def _method_entry(name: str, end: int, spec: Methods) -> tuple[Blocking, str] | None:
    rest = name[end:]
    method = rest.rsplit(".", 1)[-1]
    if not spec.blocks(method):
        return None
    if not spec.hops and _DIRECT_CHAIN.match(rest) is None:
        return None
    hops = rest.strip("()").split(".")[1:-1] if rest.startswith("()") else []
    if spec.any_method and spec.hops and ("()" in rest[2:] or set(h.rstrip("()") for h in hops) & _CLIENT_VALUES):
        # a client's resources are reached through attributes (``client.chat.completions``); a
        # call on what a request returned (``resp.model_dump()``) or on a plain value is not a request
        return None
    if spec is _PATH and method not in _PATH_IO and method != "open" and {h.rstrip("()") for h in hops} & _PATH_TO_VALUE:
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
#: a wait with a literal timeout up to this many seconds is a poll, not a blocking wait
SHORT_TIMEOUT = 0.1
#: constructors of queues whose ``put()`` blocks only when they were built with a positive maxsize
_QUEUE_CONSTRUCTORS = frozenset({"queue.Queue", "queue.LifoQueue", "queue.PriorityQueue"})
#: calls on a primitive that show the author checked its state first: ``while q.empty(): await
#: ...`` then ``q.get()``, ``if fut.done(): fut.result()`` return at once
_STATE_CHECKS = frozenset({"empty", "qsize", "full", "done", "is_set", "is_alive"})
#: longest callee text a message shows before shortening it
_MAX_SHOWN = 60


def _seconds(value: cst.BaseExpression) -> float | None:
    """The value of a literal number (``5``, ``0.05``, ``-1``, ``1_000``); None for anything else."""
    sign = 1.0
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, (cst.Minus, cst.Plus)):
        sign = -1.0 if isinstance(value.operator, cst.Minus) else 1.0
        value = value.expression
    try:
        if isinstance(value, cst.Integer):
            return sign * int(value.value, 0)
        if isinstance(value, cst.Float):
            return sign * float(value.value)
    except ValueError:
        return None
    return None


def _is_none(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Name) and value.value == "None"


def _flag(value: cst.BaseExpression) -> bool | None:
    """A literal ``block``/``blocking`` flag's truth; None when it is not a literal."""
    if isinstance(value, cst.Name) and value.value in ("True", "False"):
        return value.value == "True"
    number = _seconds(value)
    return None if number is None else number != 0


def _flag_and_timeout(call: cst.Call, method: str) -> tuple[cst.BaseExpression | None, cst.BaseExpression | None] | None:
    """The ``block``/``blocking`` and ``timeout`` arguments of an ASL250 method call (None when
    not passed); None when ``*args``/``**kwargs`` hide them."""
    flag_at, timeout_at = _FLAG_AND_TIMEOUT.get(method, (None, None))
    flag: cst.BaseExpression | None = None
    timeout: cst.BaseExpression | None = None
    positional: list[cst.BaseExpression] = []
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None:
            positional.append(arg.value)
        elif arg.keyword.value in ("block", "blocking") and flag_at is not None:
            flag = arg.value
        elif arg.keyword.value == "timeout" and timeout_at is not None:
            timeout = arg.value
    if flag_at is not None and len(positional) > flag_at:
        flag = positional[flag_at]
    if timeout_at is not None and len(positional) > timeout_at:
        timeout = positional[timeout_at]
    return flag, timeout


def _waits_long(call: cst.Call, method: str) -> bool:
    """True when a wait (``event.wait()``, ``q.get()``, ``future.result()``, ...) may park the
    thread indefinitely or for longer than :data:`SHORT_TIMEOUT`: no timeout, ``timeout=None`` or
    a literal timeout above it. A non-blocking flag, a short literal timeout, and arguments whose
    value is not written down (a variable timeout or flag, ``**kwargs``) are not: precision first."""
    found = _flag_and_timeout(call, method)
    if found is None:
        return False
    flag, timeout = found
    if flag is not None and _flag(flag) is not True:
        return False
    if timeout is None or _is_none(timeout):
        return True
    seconds = _seconds(timeout)
    return seconds is not None and seconds > SHORT_TIMEOUT


def _acquire_may_hold(call: cst.Call) -> bool:
    """False for ``acquire(blocking=False)`` and ``acquire(timeout=<= 0.1 s>)``: try-locks."""
    found = _flag_and_timeout(call, "acquire")
    if found is None:
        return True
    flag, timeout = found
    if flag is not None and _flag(flag) is False:
        return False
    seconds = _seconds(timeout) if timeout is not None else None
    return seconds is None or seconds > SHORT_TIMEOUT


def to_thread_name(lib: str) -> str:
    return {"asyncio": "asyncio.to_thread", "trio": "trio.to_thread.run_sync", "anyio": "anyio.to_thread.run_sync"}[lib]


def source_text(ctx: Context, node: cst.CSTNode, limit: int = _MAX_SHOWN) -> str:
    """``node`` as written, on one line and shortened for messages (``self._queue.put``,
    ``Path(base, "config...").read_text``): the method name at the end always stays visible."""
    text = " ".join(ctx.module.code_for_node(node).split())
    text = re.sub(r"([(\[{]) ", r"\1", text)
    text = re.sub(r" ([)\]}])", r"\1", text)
    text = re.sub(r" \.(?=[A-Za-z_])", ".", text)
    if len(text) <= limit:
        return text
    tail = f".{node.attr.value}" if isinstance(node, cst.Attribute) else ""
    room = max(limit - len(tail) - 5, 10)
    head = text[:room]
    # break between arguments, or right after an opening bracket, not inside an argument
    cut = max(head.rfind(", ") + 2, *(head.rfind(b) + 1 for b in "([{"))
    if cut > 1:
        head = head[:cut]
    return head + "..." + _closers(head) + tail


def _closers(text: str) -> str:
    """The quote and brackets that close what ``text`` left open (``f(a, [b`` -> ``])``)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack: list[str] = []
    quote = ""
    for char in text:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in pairs:
            stack.append(pairs[char])
        elif stack and char == stack[-1]:
            stack.pop()
    return quote + "".join(reversed(stack))


class BlockingCallRule(Rule):
    """Shared behaviour of the ASL2xx rules: a table-driven check of every call in a coroutine body.

    Subclasses only set ``code``, ``slug``, the docstring and examples; the tables above decide
    which calls belong to which code. Calls that are awaited, and callables passed without being
    called (``asyncio.to_thread(time.sleep, 1)``), are never flagged: they are not calls here.
    """

    message = "`{call}` blocks the event loop; use {instead}"
    requires = COROUTINE_DEF
    gate = "coroutine-calls"

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        if not ctx.in_coroutine or ctx.is_awaited(node) or _async_with_item(ctx, node):
            return
        match = classify_call(ctx, node)
        if match is None or match[0].code != self.code:
            return
        receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
        if isinstance(receiver, cst.Call):
            inner = classify_call(ctx, receiver)
            if inner is not None and inner[0].code == self.code:
                # ``conn.execute(q).fetchall()``: one finding for the chain, on the call that
                # blocks first; once it is fixed, the next round reports the rest
                return
        entry, shown = match
        lib = ctx.library
        instead = entry.instead[lib].replace("{to_thread}", to_thread_name(lib))
        self.report_blocking(node, self.build_fix(node, entry), f"{shown}(...)", instead)

    def report_blocking(self, node: cst.Call, fix: Fix | None, call: str, instead: str) -> None:
        """Report a blocking call (a rule with its own message template overrides this)."""
        self.report(node, fix=fix, call=call, instead=instead)

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


def _async_with_item(ctx: Context, node: cst.Call) -> bool:
    """``async with client.stream(...)``: the object is an async one (a sync context manager there
    fails), whatever else the name may be bound to."""
    if not isinstance(node.func, cst.Attribute) or ctx.qualified_names(node.func):
        return False  # a module's function (``async with open(p)``) is what it is: still reported
    item = ctx.parent(node)
    block = ctx.parent(item) if isinstance(item, cst.WithItem) else None
    return isinstance(block, cst.With) and block.asynchronous is not None


def _lookup(ctx: Context, node: cst.Call) -> tuple[Blocking, str] | None:
    """The table entry of the callee and its qualified display name; memoised per call node."""
    cache: dict[int, tuple[Blocking, str] | None] = ctx.memo("blocking-names", dict)  # type: ignore[assignment]
    key = id(node)
    if key not in cache:
        found: tuple[Blocking, str] | None = None
        extra = ctx.config.extra_blocking_calls
        for name in sorted(ctx.callee_names(node)):
            found = classify_name(name, extra)
            if found is not None:
                break
        cache[key] = found
    return cache[key]


def classify_call(ctx: Context, node: cst.Call) -> tuple[Blocking, str] | None:
    """The table entry of a call that blocks the event loop, and how messages show the callee
    (without the ``(...)``), or None. Memoised per call node: every ASL2xx rule asks.

    A module function keeps its qualified name (``time.sleep`` even when written ``t.sleep``); a
    method of an inferred object is shown as written (``self._queue.put``, ``fname.open``), not as
    the inferred ``queue.Queue(...).put``. A thread lock's ``acquire()`` is not a blocking call
    here (see :func:`held_after_acquire`), nor are ASL250 waits with a short or unknown timeout,
    ``put()`` on a queue not known to be bounded, and waits guarded by a state check."""
    cache: dict[int, tuple[Blocking, str] | None] = ctx.memo("blocking", dict)  # type: ignore[assignment]
    key = id(node)
    if key not in cache:
        found = _lookup(ctx, node)
        if found is not None:
            entry, shown = found
            if entry.code == "ASL250" and not _sync_wait_blocks(ctx, node, entry):
                found = None
            elif entry is _FILE_METHOD and (_opened_in_this_function(ctx, node) or _in_memory(ctx, node)):
                found = None  # one finding per file: its open() in this function; or no file at all
            elif "(...)" in shown:
                found = (entry, source_text(ctx, node.func))
        cache[key] = found
    return cache[key]


def _in_memory(ctx: Context, node: cst.Call) -> bool:
    """``io.TextIOWrapper(io.BytesIO())``: a wrapper around an in-memory buffer does no I/O."""
    receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
    if receiver is None:
        return False
    for call in _constructions(ctx, receiver, 0):
        inner = call.args[0].value if call.args else None
        if isinstance(inner, cst.Call) and ctx.qualified_names(inner.func) & {"io.BytesIO", "io.StringIO"}:
            return True
    return False


def _opened_in_this_function(ctx: Context, node: cst.Call) -> bool:
    """The file object a method is called on was opened by a call in the same function
    (``with open(p) as f: f.read()``, ``f = open(p)``): that ``open()`` is the finding."""
    receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
    if receiver is None:
        return False

    def function_of(n: cst.CSTNode) -> cst.CSTNode | None:
        parent = ctx.parent(n)
        while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.Module)):
            parent = ctx.parent(parent)
        return parent

    here = function_of(node)
    return any(function_of(call) is here for call in _constructions(ctx, receiver, 0))


def _sync_wait_blocks(ctx: Context, node: cst.Call, entry: Blocking) -> bool:
    if entry.held or not isinstance(node.func, cst.Attribute):
        return False
    method = node.func.attr.value
    receiver = node.func.value
    if not _waits_long(node, method):
        return False
    if entry is _QUEUE_PUT and not _bounded_queue(ctx, receiver):
        return False
    return not _state_checked(ctx, node, receiver)


def _bounded_queue(ctx: Context, expr: cst.BaseExpression) -> bool:
    """True when ``expr`` was built by ``queue.Queue(maxsize)`` (or Lifo/Priority) with a positive
    literal maxsize in this module: only then can ``put()`` block. An unbounded queue (no maxsize,
    0, negative) never blocks in ``put()``, and a variable maxsize cannot be told: not flagged."""
    for call in _constructions(ctx, expr, 0):
        if not ctx.expr_names(call.func) & _QUEUE_CONSTRUCTORS:
            continue
        size: cst.BaseExpression | None = None
        for i, arg in enumerate(call.args):
            if (arg.keyword is None and i == 0 and not arg.star) or (arg.keyword is not None and arg.keyword.value == "maxsize"):
                size = arg.value
        seconds = _seconds(size) if size is not None else None
        if seconds is not None and seconds > 0:
            return True
    return False


def _constructions(ctx: Context, expr: cst.BaseExpression, depth: int) -> list[cst.Call]:
    """The calls ``expr`` may have been built by: followed through names bound in its scope and
    ``self.attr`` assignments of the class, as :meth:`Context.instance_names` follows them."""
    if depth > 6:
        return []
    if isinstance(expr, cst.Call):
        return [expr]
    values: list[cst.BaseExpression] = []
    if isinstance(expr, cst.Name):
        values = [v for v in ctx.bound_values(expr) if v is not expr]
    elif isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
        values = ctx.self_attribute_values(expr.value, expr.attr.value)
    out: list[cst.Call] = []
    for value in values:
        out.extend(_constructions(ctx, value, depth + 1))
    return out


def _state_checked(ctx: Context, node: cst.Call, receiver: cst.BaseExpression) -> bool:
    """True when the wait follows a check of the same object's state in the same function:
    inside ``if``/``while`` whose test calls ``receiver.empty()/qsize()/full()/done()/is_set()/
    is_alive()``, or after such an ``if``/``while``/``assert`` in an enclosing block
    (``while q.empty(): await asyncio.sleep(0)`` then ``q.get()``)."""
    wanted = source_text(ctx, receiver, limit=10_000)
    child: cst.CSTNode = node
    parent = ctx.parent(node)
    while parent is not None and not isinstance(parent, _SCOPE_NODES):
        if isinstance(parent, (cst.If, cst.While)) and child is not parent.test and _checks_state(ctx, parent.test, wanted):
            return True
        if isinstance(parent, (cst.IndentedBlock, cst.Module)):
            for stmt in parent.body:
                if stmt is child:
                    break
                if _is_check_statement(ctx, stmt, wanted):
                    return True
        child, parent = parent, ctx.parent(parent)
    return False


def _is_check_statement(ctx: Context, stmt: cst.CSTNode, wanted: str) -> bool:
    """A statement after which the wait returns at once: a state check of the object (``if``/
    ``while``/``assert``), or an ``await`` that takes the object (``await asyncio.wrap_future(fut)``,
    ``await loop.run_in_executor(None, thread.join)``): the author already waited for it."""
    if isinstance(stmt, (cst.If, cst.While)) and _checks_state(ctx, stmt.test, wanted):
        return True
    if isinstance(stmt, cst.SimpleStatementLine):
        if any(isinstance(s, cst.Assert) and _checks_state(ctx, s.test, wanted) for s in stmt.body):
            return True
        for awaited in (n for n in _same_scope_nodes([stmt]) if isinstance(n, cst.Await)):
            if any(
                isinstance(sub, (cst.Name, cst.Attribute)) and source_text(ctx, sub, limit=10_000) == wanted
                for sub in _same_scope_nodes([awaited.expression])
            ):
                return True
    return False


def _checks_state(ctx: Context, test: cst.BaseExpression, wanted: str) -> bool:
    for sub in _same_scope_nodes([test]):
        if (
            isinstance(sub, cst.Call)
            and isinstance(sub.func, cst.Attribute)
            and sub.func.attr.value in _STATE_CHECKS
            and source_text(ctx, sub.func.value, limit=10_000) == wanted
        ):
            return True
    return False


# -- thread locks held across an await ----------------------------------------------------------
_SCOPE_NODES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


def _same_scope_nodes(roots: list[cst.CSTNode], start: cst.CSTNode | None = None) -> Iterator[cst.CSTNode]:
    """The nodes under ``roots`` in source order, not entering nested ``def``/``lambda``/``class``
    (other scopes). With ``start``: only the nodes after ``start`` and its subtree."""
    started = start is None
    todo = list(reversed(roots))
    while todo:
        node = todo.pop()
        if node is start:
            started = True
            continue
        if isinstance(node, _SCOPE_NODES):
            continue
        if started:
            yield node
        todo.extend(reversed(node.children))


def _is_suspension(node: cst.CSTNode) -> bool:
    """``await``, ``async for``, ``async with``, an async comprehension: the task may be suspended."""
    if isinstance(node, cst.Await):
        return True
    if isinstance(node, (cst.For, cst.With, cst.CompFor)):
        return node.asynchronous is not None
    return False


def suspension_text(node: cst.CSTNode) -> str:
    """How a message names a suspension point: ```await```, ```async for```, ```async with```."""
    if isinstance(node, cst.With):
        return "`async with`"
    if isinstance(node, (cst.For, cst.CompFor)):
        return "`async for`"
    return "`await`"


def line_of(ctx: Context, node: cst.CSTNode) -> int:
    """The 1-based line where ``node`` starts (the engine reuses the resolved positions)."""
    positions = ctx.wrapper.resolve(PositionProvider)
    return positions[node].start.line


def lock_in_with(ctx: Context, expr: cst.BaseExpression) -> Blocking | None:
    """The lock entry for ``with expr:`` when ``expr`` is a lock object built elsewhere in the
    module or function (a lock built right in the ``with`` cannot be held by anyone else)."""
    if isinstance(expr, cst.Call):
        return None
    for name in sorted(ctx.instance_names(expr)):
        ctor = name[:-2] if name.endswith("()") else ""
        if ctor in LOCK_CONSTRUCTORS:
            return METHODS[ctor].blocking
    return None


def held_in_with(node: cst.With, index: int) -> cst.CSTNode | None:
    """The first suspension point while ``with`` item ``index`` is held: in the later items or
    the body, in the same scope."""
    roots: list[cst.CSTNode] = [item.item for item in node.items[index + 1 :]]
    roots.append(node.body)
    return next((n for n in _same_scope_nodes(roots) if _is_suspension(n)), None)


def acquired_lock(ctx: Context, node: cst.Call) -> Blocking | None:
    """The lock entry for ``lock.acquire()`` on a thread lock object that may be taken (not a
    try-lock such as ``acquire(blocking=False)``)."""
    if not isinstance(node.func, cst.Attribute) or node.func.attr.value != "acquire":
        return None
    found = _lookup(ctx, node)
    if found is None or not found[0].held or not _acquire_may_hold(node):
        return None
    return found[0]


def held_after_acquire(ctx: Context, node: cst.Call) -> cst.CSTNode | None:
    """The first suspension point between ``lock.acquire()`` and the matching ``lock.release()``
    (same receiver, as written) in the statement block of the acquire; None when there is none,
    or when the block has no matching release (the lock is released elsewhere: cannot tell)."""
    assert isinstance(node.func, cst.Attribute)
    wanted = source_text(ctx, node.func.value, limit=10_000)
    statement: cst.CSTNode = node
    block = ctx.parent(node)
    while block is not None and not isinstance(block, (cst.IndentedBlock, cst.Module)):
        if isinstance(block, _SCOPE_NODES):
            return None
        statement, block = block, ctx.parent(block)
    if block is None:
        return None
    body: list[cst.CSTNode] = list(block.body)
    rest = body[body.index(statement) :]
    suspension: cst.CSTNode | None = None
    for sub in _same_scope_nodes(rest, start=node):
        if suspension is None and _is_suspension(sub):
            suspension = sub
        elif (
            isinstance(sub, cst.Call)
            and isinstance(sub.func, cst.Attribute)
            and sub.func.attr.value == "release"
            and source_text(ctx, sub.func.value, limit=10_000) == wanted
        ):
            return suspension
    return None
