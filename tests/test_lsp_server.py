"""``asynclint server`` driven as an editor drives it: a subprocess speaking JSON-RPC with
Content-Length framing on its stdin/stdout (a small client written here, not pygls's, so that the
exchange is the real wire protocol)."""
from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from asynclint.api import fix_source, lint_source
from asynclint.links import rules_doc_url

pytest.importorskip("pygls")

#: seconds to wait for any one message: a hung server fails the test instead of hanging the suite
TIMEOUT = 60
DOCS = rules_doc_url()
SLEEP_MESSAGE = "`time.sleep(...)` blocks the event loop; use `await asyncio.sleep(...)`"
RUN_MESSAGE = (
    "`subprocess.run(...)` blocks the event loop; use `await asyncio.create_subprocess_exec(...)` "
    "or `await asyncio.to_thread(...)`"
)
APP = "import time\n\n\nasync def h():\n    time.sleep(1)\n"


class Client:
    """The editor's side of the connection."""

    def __init__(self, cwd: Path, argv: list[str] | None = None) -> None:
        command = argv or [sys.executable, "-m", "asynclint", "server"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.pending: list[dict[str, Any]] = []  # notifications read while waiting for something else
        self.stderr = b""
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        while True:
            headers: dict[str, str] = {}
            while True:
                line = stream.readline()
                if not line:
                    self.inbox.put(None)
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = stream.read(int(headers["content-length"]))
            self.inbox.put(json.loads(body.decode("utf-8")))

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def _next(self) -> dict[str, Any]:
        try:
            message = self.inbox.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no message from the server in {TIMEOUT} s; stderr: {self.stderr!r}") from None
        if message is None:
            raise AssertionError(f"the server closed its output; stderr: {self.stderr!r}")
        if "method" in message and "id" in message:  # a request from the server: accept it
            self.send({"id": message["id"], "result": None})
        return message

    def request(self, method: str, params: Any = None) -> Any:
        self.next_id += 1
        ident = self.next_id
        self.send({"id": ident, "method": method, **({} if params is None else {"params": params})})
        while True:
            message = self._next()
            if message.get("id") == ident and "method" not in message:
                assert "error" not in message, message
                return message["result"]
            self.pending.append(message)

    def notification(self, method: str, where: Callable[[Any], bool] = lambda params: True) -> Any:
        for message in self.pending:
            if message.get("method") == method and where(message["params"]):
                self.pending.remove(message)
                return message["params"]
        while True:
            message = self._next()
            if message.get("method") == method and where(message["params"]):
                return message["params"]
            self.pending.append(message)

    def answer(self, ident: int) -> dict[str, Any]:
        """The answer to a request sent with ``send`` (error answers included)."""
        while True:
            message = self._next()
            if message.get("id") == ident and "method" not in message:
                return message
            self.pending.append(message)

    def initialize(self, root: Path, capabilities: dict[str, Any] | None = None) -> Any:
        result = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": capabilities or {},
            },
        )
        self.notify("initialized", {})
        return result

    def open(self, path: Path, text: str, version: int = 1) -> list[dict[str, Any]]:
        uri = path.as_uri()
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": version, "text": text}},
        )
        return self.diagnostics(uri, version)

    def change(self, path: Path, text: str, version: int) -> list[dict[str, Any]]:
        uri = path.as_uri()
        self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
        )
        return self.diagnostics(uri, version)

    def diagnostics(self, uri: str, version: int | None = None) -> list[dict[str, Any]]:
        params = self.notification(
            "textDocument/publishDiagnostics",
            lambda p: p["uri"] == uri and (version is None or p.get("version") == version),
        )
        return params["diagnostics"]

    def actions(self, path: Path, start: tuple[int, int], end: tuple[int, int], only: list[str] | None = None) -> Any:
        context: dict[str, Any] = {"diagnostics": []}
        if only is not None:
            context["only"] = only
        return self.request(
            "textDocument/codeAction",
            {"textDocument": {"uri": path.as_uri()}, "range": span(*start, *end), "context": context},
        )

    def close(self) -> int:
        """shutdown, then exit: the process must end by itself, with code 0."""
        assert self.request("shutdown") is None
        self.notify("exit", None)
        return self.wait()

    def wait(self) -> int:
        try:
            return self.proc.wait(timeout=TIMEOUT)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)


@pytest.fixture
def client(tmp_path: Path):
    started: list[Client] = []

    def start(argv: list[str] | None = None) -> Client:
        started.append(Client(tmp_path, argv))
        return started[-1]

    yield start
    for one in started:
        one.kill()


def span(line: int, character: int, end_line: int, end_character: int) -> dict[str, Any]:
    return {"start": {"line": line, "character": character}, "end": {"line": end_line, "character": end_character}}


def diag(code: str, message: str, where: dict[str, Any], severity: int = 2, anchor: str | None = None) -> dict[str, Any]:
    return {
        "range": where,
        "message": message,
        "severity": severity,
        "code": code,
        "codeDescription": {"href": f"{DOCS}#{anchor}"},
        "source": "asynclint",
    }


def offset(text: str, position: dict[str, int], encoding: str = "utf-16") -> int:
    """A position as the client counts it (lines end at \\n, \\r\\n, \\r) -> an index into ``text``."""
    lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z", text)
    start = sum(len(line) for line in lines[: position["line"]])
    if position["line"] >= len(lines):
        return len(text)
    line = lines[position["line"]].rstrip("\r\n")
    codec = "utf-16-le" if encoding == "utf-16" else "utf-8"
    width = 2 if encoding == "utf-16" else 1
    count = 0
    for index, char in enumerate(line):
        if count >= position["character"]:
            return start + index
        count += len(char.encode(codec)) // width
    return start + len(line)


def apply(text: str, edit: dict[str, Any], uri: str, encoding: str = "utf-16") -> str:
    """A WorkspaceEdit applied to ``text`` as an editor applies it."""
    if "documentChanges" in edit:
        [change] = edit["documentChanges"]
        assert change["textDocument"]["uri"] == uri
        edits = change["edits"]
    else:
        assert list(edit["changes"]) == [uri]
        edits = edit["changes"][uri]
    spans = [(offset(text, e["range"]["start"], encoding), offset(text, e["range"]["end"], encoding), e["newText"]) for e in edits]
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


ROOT = Path(__file__).resolve().parent.parent


def doc_blocks(language: str, name: str = "docs/editors.md") -> list[Any]:
    """The fenced ``language`` blocks of a document, parsed (json and toml)."""
    from asynclint.config import tomllib  # tomli on Python 3.10

    text = (ROOT / name).read_text(encoding="utf-8")
    blocks = re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    return [json.loads(b) if language == "json" else tomllib.loads(b) for b in blocks]


def test_editor_settings_in_the_docs(tmp_path: Path) -> None:
    """What users paste: valid JSON and TOML that start `asynclint server` for Python."""
    for name in ("README.md", "docs/editors.md"):
        vscode = doc_blocks("json", name)[0]
        assert vscode["glspc.server.command"] == "asynclint"
        assert vscode["glspc.server.commandArguments"] == ["server"]
        assert vscode["glspc.server.languageId"] == ["python"]
        assert vscode["[python]"]["editor.codeActionsOnSave"] == {"source.fixAll.asynclint": "explicit"}
        text = (ROOT / name).read_text(encoding="utf-8")
        assert 'cmd = { "asynclint", "server" }' in text
    [helix] = doc_blocks("toml")
    assert helix["language-server"]["asynclint"] == {"command": "asynclint", "args": ["server"]}
    assert "asynclint" in helix["language"][0]["language-servers"]


def codes(text: str, path: Path) -> list[str]:
    return [f.code for f in lint_source(text, str(path)).findings]


def test_diagnostics_code_actions_and_edits(client, tmp_path: Path) -> None:
    server = client()
    result = server.initialize(tmp_path)
    capabilities = result["capabilities"]
    assert capabilities["positionEncoding"] == "utf-16"
    assert capabilities["textDocumentSync"]["change"] == 1  # the full text on each change
    assert capabilities["textDocumentSync"]["openClose"] is True
    assert capabilities["codeActionProvider"]["codeActionKinds"] == ["quickfix", "source.fixAll.asynclint"]
    assert result["serverInfo"]["name"] == "asynclint"

    app = tmp_path / "app.py"
    uri = app.as_uri()
    sleep = diag("ASL200", SLEEP_MESSAGE, span(4, 4, 4, 17), anchor="asl200-blocking-sleep")
    assert server.open(app, APP) == [sleep]
    assert doc_blocks("json")[-1] == sleep  # docs/editors.md shows this very diagnostic

    actions = server.actions(app, (4, 6), (4, 6))
    assert [(a["title"], a["kind"], a.get("isPreferred")) for a in actions] == [
        ("Fix ASL200: Replace with `await asyncio.sleep(...)`", "quickfix", True),
        ("Disable ASL200 for this line", "quickfix", None),
        ("asynclint: apply all safe fixes", "source.fixAll.asynclint", None),
    ]
    assert actions[0]["diagnostics"] == [sleep]
    assert actions[1]["diagnostics"] == [sleep]
    # the fix's edit is what --fix writes for it, the new import included (here: `import time`,
    # used nowhere else, becomes `import asyncio`)
    fixed = apply(APP, actions[0]["edit"], uri)
    assert fixed == "import asyncio\n\n\nasync def h():\n    await asyncio.sleep(1)\n"
    assert fixed == fix_source(APP, str(app)).source.decode()
    assert codes(fixed, app) == []
    suppressed = apply(APP, actions[1]["edit"], uri)
    assert suppressed == "import time\n\n\nasync def h():\n    time.sleep(1)  # noqa: ASL200\n"
    assert codes(suppressed, app) == []
    assert apply(APP, actions[2]["edit"], uri) == fixed

    # a range that touches no finding: only the whole-file action
    assert [a["title"] for a in server.actions(app, (0, 0), (0, 3))] == ["asynclint: apply all safe fixes"]

    # the editor's text changes: two blocking calls, one of them without a safe fix
    text = 'import subprocess\nimport time\n\n\nasync def h():\n    time.sleep(1)\n    subprocess.run(["ls"])\n'
    run = diag("ASL220", RUN_MESSAGE, span(6, 4, 6, 26), anchor="asl220-blocking-subprocess")
    assert server.change(app, text, 2) == [
        diag("ASL200", SLEEP_MESSAGE, span(5, 4, 5, 17), anchor="asl200-blocking-sleep"),
        run,
    ]
    # both kinds of fix are offered for a range over both lines; the unsafe one says so
    actions = server.actions(app, (5, 0), (6, 10))
    assert [(a["title"], a.get("isPreferred")) for a in actions] == [
        ("Fix ASL200: Replace with `await asyncio.sleep(...)`", True),
        ("Fix ASL220: Run in a worker thread with `await asyncio.to_thread` (unsafe)", False),
        ("Disable ASL200 for this line", None),
        ("Disable ASL220 for this line", None),
        ("asynclint: apply all safe fixes", None),
    ]
    unsafe = apply(text, actions[1]["edit"], uri)
    assert unsafe == (
        "import subprocess\nimport time\nimport asyncio\n\n\nasync def h():\n    time.sleep(1)\n"
        '    await asyncio.to_thread(subprocess.run, ["ls"])\n'
    )
    assert codes(unsafe, app) == ["ASL200"]
    # fix-all applies the safe fixes only, as `asynclint --fix` does
    assert apply(text, actions[4]["edit"], uri) == fix_source(text, str(app)).source.decode() == (
        'import subprocess\nimport asyncio\n\n\nasync def h():\n    await asyncio.sleep(1)\n    subprocess.run(["ls"])\n'
    )

    # saving lints again; a clean text clears the diagnostics
    server.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    assert server.diagnostics(uri, 2) == [diag("ASL200", SLEEP_MESSAGE, span(5, 4, 5, 17), anchor="asl200-blocking-sleep"), run]
    assert server.change(app, "import asyncio\n\n\nasync def h():\n    await asyncio.sleep(1)\n", 3) == []
    assert server.actions(app, (0, 0), (4, 0)) == []
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert server.diagnostics(uri) == []
    assert server.close() == 0


def test_noqa_extends_an_existing_list(client, tmp_path: Path) -> None:
    server = client()
    server.initialize(tmp_path)
    app = tmp_path / "app.py"
    text = 'import subprocess\n\n\nasync def h():\n    subprocess.run(["ls"])  # noqa: ASL210\n'
    assert server.open(app, text) == [diag("ASL220", RUN_MESSAGE, span(4, 4, 4, 26), anchor="asl220-blocking-subprocess")]
    actions = server.actions(app, (4, 4), (4, 4))
    assert [a["title"] for a in actions] == [
        "Fix ASL220: Run in a worker thread with `await asyncio.to_thread` (unsafe)",
        "Disable ASL220 for this line",
    ]
    suppressed = apply(text, actions[1]["edit"], app.as_uri())
    assert suppressed == 'import subprocess\n\n\nasync def h():\n    subprocess.run(["ls"])  # noqa: ASL210, ASL220\n'
    assert codes(suppressed, app) == []
    assert apply(text, actions[0]["edit"], app.as_uri()) == (
        'import subprocess\nimport asyncio\n\n\nasync def h():\n'
        '    await asyncio.to_thread(subprocess.run, ["ls"])  # noqa: ASL210\n'
    )
    # where no comment can go (a line continued by a backslash, a line inside a multi-line string),
    # it goes on the line that ends the statement, as --add-noqa puts it and the engine reads it
    text = 'import subprocess\n\n\nasync def h():\n    subprocess.run(["ls"], \\\n        check=True)\n'
    assert server.change(app, text, 2) == [diag("ASL220", RUN_MESSAGE, span(4, 4, 5, 19), anchor="asl220-blocking-subprocess")]
    actions = server.actions(app, (4, 4), (4, 4))
    assert actions[1]["title"] == "Disable ASL220 for this line"
    suppressed = apply(text, actions[1]["edit"], app.as_uri())
    assert suppressed == 'import subprocess\n\n\nasync def h():\n    subprocess.run(["ls"], \\\n        check=True)  # noqa: ASL220\n'
    assert codes(suppressed, app) == []
    text = 'import subprocess\n\n\nasync def h():\n    subprocess.run(["sh", "-c", """\n        ls\n    """])\n'
    assert [d["code"] for d in server.change(app, text, 3)] == ["ASL220"]
    suppressed = apply(text, server.actions(app, (4, 4), (4, 4))[1]["edit"], app.as_uri())
    assert suppressed == 'import subprocess\n\n\nasync def h():\n    subprocess.run(["sh", "-c", """\n        ls\n    """])  # noqa: ASL220\n'
    assert codes(suppressed, app) == []
    # a bare noqa suppresses every code already: the finding is gone, nothing to offer
    assert server.change(app, text.replace('"""])', '"""])  # noqa'), 4) == []
    assert server.close() == 0


def test_syntax_error_and_utf16_columns(client, tmp_path: Path) -> None:
    server = client()
    server.initialize(tmp_path)
    app = tmp_path / "app.py"
    # ASL001 is an error; the column counts the astral character as two UTF-16 units
    assert server.open(app, "x = '𝄞' + )\n") == [
        diag("ASL001", "SyntaxError: unmatched ')'", span(0, 11, 0, 11), severity=1, anchor="asynclint-rules")
    ]
    assert server.actions(app, (0, 0), (0, 12)) == []
    # U+1D11E is one code point (the engine's column) and two UTF-16 units (the editor's)
    text = "import time\n\n\nasync def h():\n    s = '𝄞é'; time.sleep(1)\n"
    assert server.change(app, text, 2) == [diag("ASL200", SLEEP_MESSAGE, span(4, 15, 4, 28), anchor="asl200-blocking-sleep")]
    actions = server.actions(app, (4, 20), (4, 20))
    assert actions[0]["title"] == "Fix ASL200: Replace with `await asyncio.sleep(...)`"
    assert apply(text, actions[0]["edit"], app.as_uri()) == "import asyncio\n\n\nasync def h():\n    s = '𝄞é'; await asyncio.sleep(1)\n"
    assert apply(text, actions[1]["edit"], app.as_uri()) == (
        "import time\n\n\nasync def h():\n    s = '𝄞é'; time.sleep(1)  # noqa: ASL200\n"
    )
    # a byte order mark is a character of the editor's first line, not of the engine's
    text = "\ufeffimport time\n\n\nasync def h():\n    time.sleep(1)\n"
    assert server.change(app, text, 3) == [diag("ASL200", SLEEP_MESSAGE, span(4, 4, 4, 17), anchor="asl200-blocking-sleep")]
    edit = server.actions(app, (4, 4), (4, 4))[0]["edit"]
    assert edit["changes"][app.as_uri()][0]["range"] == span(0, 8, 0, 12)
    assert apply(text, edit, app.as_uri()) == "\ufeffimport asyncio\n\n\nasync def h():\n    await asyncio.sleep(1)\n"
    # \r\n line endings and a form feed (not a line break for Python or LSP) keep lines where they are
    text = "import time\r\n\x0c\r\n\r\nasync def h():\r\n    time.sleep(1)\r\n"
    assert server.change(app, text, 4) == [diag("ASL200", SLEEP_MESSAGE, span(4, 4, 4, 17), anchor="asl200-blocking-sleep")]
    assert apply(text, server.actions(app, (4, 4), (4, 4))[0]["edit"], app.as_uri()) == (
        "import asyncio\r\n\x0c\r\n\r\nasync def h():\r\n    await asyncio.sleep(1)\r\n"
    )
    assert server.close() == 0


def test_utf8_position_encoding_when_the_client_prefers_it(client, tmp_path: Path) -> None:
    server = client()
    result = server.initialize(tmp_path, {"general": {"positionEncodings": ["utf-8", "utf-16"]}})
    assert result["capabilities"]["positionEncoding"] == "utf-8"
    app = tmp_path / "app.py"
    text = "import time\n\n\nasync def h():\n    s = '𝄞é'; time.sleep(1)\n"
    # 4 bytes for U+1D11E, 2 for é
    assert server.open(app, text) == [diag("ASL200", SLEEP_MESSAGE, span(4, 18, 4, 31), anchor="asl200-blocking-sleep")]
    actions = server.actions(app, (4, 18), (4, 18))
    assert apply(text, actions[0]["edit"], app.as_uri(), "utf-8") == (
        "import asyncio\n\n\nasync def h():\n    s = '𝄞é'; await asyncio.sleep(1)\n"
    )
    assert server.close() == 0


def test_project_configuration(client, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.asynclint]\nignore = ["ASL200"]\n')
    server = client()
    server.initialize(tmp_path)
    src = tmp_path / "src"
    src.mkdir()
    app = src / "app.py"
    text = 'import subprocess\nimport time\n\n\nasync def h():\n    time.sleep(1)\n    subprocess.run(["ls"])\n'
    run = diag("ASL220", RUN_MESSAGE, span(6, 4, 6, 26), anchor="asl220-blocking-subprocess")
    sleep = diag("ASL200", SLEEP_MESSAGE, span(5, 4, 5, 17), anchor="asl200-blocking-sleep")
    assert server.open(app, text) == [run]
    # test code (by its path) is not checked for blocking calls: ignore-in-tests = ["ASL2"]
    tests = tmp_path / "tests"
    tests.mkdir()
    assert server.open(tests / "test_app.py", text) == []

    # the configuration changes on disk: it is read again (on save, or when the editor reports it)
    (tmp_path / "pyproject.toml").write_text('[tool.asynclint]\nignore = []\nignore-in-tests = []\n')
    server.notify("textDocument/didSave", {"textDocument": {"uri": app.as_uri()}})
    assert server.diagnostics(app.as_uri(), 1) == [sleep, run]
    (tmp_path / "pyproject.toml").write_text('[tool.asynclint]\nselect = ["ASL2"]\nignore = ["ASL220"]\n')
    server.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": (tmp_path / "pyproject.toml").as_uri(), "type": 2}]})
    assert server.diagnostics(app.as_uri(), 1) == [sleep]
    assert server.diagnostics((tests / "test_app.py").as_uri(), 1) == []

    # a configuration that cannot be used is shown once; the defaults apply meanwhile
    (tmp_path / "pyproject.toml").write_text('[tool.asynclint]\nignroe = ["ASL200"]\n')
    assert server.change(app, text + "\n", 2) == [sleep, run]
    shown = server.notification("window/showMessage")
    assert shown == {
        "type": 1,
        "message": f"asynclint: {tmp_path / 'pyproject.toml'}: unknown key 'ignroe' in [tool.asynclint] "
        "(did you mean 'ignore'?); using the default settings",
    }
    assert server.close() == 0


def test_fix_all_resolved_lazily_with_versioned_edits(client, tmp_path: Path) -> None:
    server = client()
    server.initialize(
        tmp_path,
        {
            "workspace": {"workspaceEdit": {"documentChanges": True}},
            "textDocument": {"codeAction": {"resolveSupport": {"properties": ["edit"]}}},
        },
    )
    app = tmp_path / "app.py"
    text = "import time\n\n\nasync def h():\n    time.sleep(1)\n    time.sleep(2)\n"
    assert len(server.open(app, text, version=7)) == 2
    # only= filters by kind; the whole-file action comes without its edit until it is resolved
    [action] = server.actions(app, (0, 0), (0, 0), only=["source.fixAll"])
    assert action["title"] == "asynclint: apply all safe fixes"
    assert action["kind"] == "source.fixAll.asynclint"
    assert "edit" not in action
    assert [a["title"] for a in server.actions(app, (4, 4), (4, 4), only=["quickfix"])] == [
        "Fix ASL200: Replace with `await asyncio.sleep(...)`",
        "Disable ASL200 for this line",
    ]
    resolved = server.request("codeAction/resolve", action)
    assert resolved["edit"]["documentChanges"][0]["textDocument"] == {"uri": app.as_uri(), "version": 7}
    assert apply(text, resolved["edit"], app.as_uri()) == (
        "import asyncio\n\n\nasync def h():\n    await asyncio.sleep(1)\n    await asyncio.sleep(2)\n"
    )
    assert server.close() == 0


def test_internal_error_is_logged_and_the_server_goes_on(client, tmp_path: Path) -> None:
    # the engine fails on one document (as a bug would): the server logs it and keeps serving
    code = (
        "import sys\n"
        "import asynclint.server as server\n"
        "real = server.lint_bytes\n"
        "def lint_bytes(data, *args, **kwargs):\n"
        "    if b'BOOM' in data:\n"
        "        raise RuntimeError('boom for the test')\n"
        "    return real(data, *args, **kwargs)\n"
        "server.lint_bytes = lint_bytes\n"
        "from asynclint.cli import main\n"
        "sys.exit(main(['server']))\n"
    )
    server = client([sys.executable, "-c", code])
    server.initialize(tmp_path)
    bad = tmp_path / "bad.py"
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": bad.as_uri(), "languageId": "python", "version": 1, "text": "BOOM = 1\n"}},
    )
    logged = server.notification("window/logMessage", lambda p: "internal error" in p["message"])
    assert logged["type"] == 1
    assert logged["message"].startswith(f"asynclint: internal error while linting {bad.as_uri()} (please report it):\n")
    assert "RuntimeError: boom for the test" in logged["message"]
    assert server.actions(bad, (0, 0), (0, 0)) is None
    assert server.open(tmp_path / "app.py", APP) == [diag("ASL200", SLEEP_MESSAGE, span(4, 4, 4, 17), anchor="asl200-blocking-sleep")]
    assert server.close() == 0


def test_malformed_messages_are_answered_and_logged(client, tmp_path: Path) -> None:
    server = client()
    server.initialize(tmp_path)
    # a request whose params do not fit its method gets an error answer (the client waits for one)
    server.send({"id": 99, "method": "textDocument/codeAction", "params": {"bogus": 1}})
    answer = server.answer(99)
    assert answer["error"]["code"] == -32602
    assert answer["error"]["message"] == "Invalid Params (textDocument/codeAction)"
    # a broken notification is logged, not shown as a pop-up
    server.notify("textDocument/didOpen", {"nope": 1})
    logged = server.notification("window/logMessage")
    assert logged == {"type": 1, "message": "asynclint: JsonRpcInvalidParams: Invalid Params"}
    assert server.open(tmp_path / "app.py", APP) == [diag("ASL200", SLEEP_MESSAGE, span(4, 4, 4, 17), anchor="asl200-blocking-sleep")]
    assert not [m for m in server.pending if m.get("method") == "window/showMessage"]
    assert server.close() == 0


def test_exit_without_shutdown_and_closed_input(client, tmp_path: Path) -> None:
    server = client()
    server.initialize(tmp_path)
    server.notify("exit", None)
    assert server.wait() == 1  # LSP: exit without shutdown is an error
    server = client()
    server.initialize(tmp_path)
    assert server.proc.stdin is not None
    server.proc.stdin.close()  # the editor went away
    assert server.wait() == 1


def test_without_pygls_one_line_and_exit_2(tmp_path: Path) -> None:
    code = "import sys\nsys.modules['pygls'] = None\nfrom asynclint.cli import main\nsys.exit(main(['server']))\n"
    done = subprocess.run([sys.executable, "-c", code], check=False, cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT)
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "asynclint: the language server needs pygls: pip install 'asynclint[lsp]'\n",
    )


def test_server_arguments(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "asynclint", "server", "--tcp"], check=False, cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "asynclint: server: unknown argument '--tcp'; usage: asynclint server [--stdio] "
        "(speaks the Language Server Protocol on stdin/stdout)\n"
    )


def test_cli_does_not_import_pygls(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    code = (
        "import sys\nfrom asynclint.cli import main\nmain(['--no-cache', 'app.py'])\n"
        "print(sorted(m for m in ('pygls', 'lsprotocol', 'asynclint.server') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.stdout.splitlines()[-1] == "[]"
