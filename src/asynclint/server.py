"""``asynclint server``: a language server on stdin/stdout (pygls) with diagnostics and code actions."""
from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import io
import sys
import tokenize
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO, TypeVar
from urllib.parse import unquote

from asynclint import __version__, registry
from asynclint.config import Config, ConfigError, find_config_file, load_file
from asynclint.engine import lint_bytes
from asynclint.model import Finding, Result, Safety
from asynclint.output import diff_offsets, source_lines, text_edits

if TYPE_CHECKING:
    from lsprotocol import types as lsp
    from pygls.lsp.server import LanguageServer

T = TypeVar("T")

MISSING_PYGLS = "the language server needs pygls: pip install 'asynclint[lsp]'"
USAGE = "usage: asynclint server [--stdio] (speaks the Language Server Protocol on stdin/stdout)"
SOURCE = "asynclint"
FIX_ALL_KIND = "source.fixAll.asynclint"
QUICKFIX_KIND = "quickfix"
FIX_ALL_TITLE = "asynclint: apply all safe fixes"
#: the configuration files whose change can change every open document's findings
CONFIG_NAMES = ("pyproject.toml", "asynclint.toml")


# --- text geometry: the engine counts code points, LSP counts UTF-16 code units (by default) ---


def units(text: str, encoding: str) -> int:
    """The length of ``text`` in the position encoding agreed with the client."""
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == "utf-32":
        return len(text)
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)  # astral characters are 2 UTF-16 units


def _strip_eol(line: str) -> str:
    return line.rstrip("\r\n")


class Geometry:
    """Positions in one document's text: engine positions (1-based lines, 1-based code-point columns
    of the text without a byte order mark, as libcst reads it) and LSP positions (0-based lines,
    columns in the negotiated encoding) both go through offsets into the text. Lines end at ``\\n``,
    ``\\r\\n`` or ``\\r``, where both Python and LSP end them (not at form feeds or ``\\u2028``)."""

    def __init__(self, text: str, encoding: str = "utf-16") -> None:
        self.text = text
        self.encoding = encoding
        self.bom = 1 if text.startswith("\ufeff") else 0
        self.lines = source_lines(text)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    @property
    def body(self) -> str:
        """The text the engine sees: libcst drops a byte order mark."""
        return self.text[self.bom :]

    def engine_offset(self, line: int, col: int) -> int:
        """The offset into the text of an engine position (in the text without the BOM)."""
        if line > len(self.lines):
            return len(self.text)
        index = max(line - 1, 0)
        offset = self.starts[index] + max(col - 1, 0) + (self.bom if index == 0 else 0)
        return min(offset, self.starts[index] + len(_strip_eol(self.lines[index])))

    def position(self, offset: int) -> tuple[int, int]:
        """The LSP (line, character) of an offset into the text."""
        offset = max(0, min(offset, len(self.text)))
        if offset == len(self.text):
            if not self.lines:
                return 0, 0
            if self.text.endswith(("\n", "\r")):
                return len(self.lines), 0
            return len(self.lines) - 1, units(self.lines[-1], self.encoding)
        index = bisect.bisect_right(self.starts, offset) - 1
        return index, units(self.lines[index][: offset - self.starts[index]], self.encoding)

    def offset(self, line: int, character: int) -> int:
        """The offset into the text of an LSP position; past a line's end is its end."""
        if line >= len(self.lines):
            return len(self.text)
        text = _strip_eol(self.lines[max(line, 0)])
        count = 0
        for index, char in enumerate(text):
            if count >= character:
                return self.starts[line] + index
            count += units(char, self.encoding)
        return self.starts[line] + len(text)

    def engine_line(self, offset: int) -> int:
        """The 1-based line of an offset."""
        return bisect.bisect_right(self.starts, offset) if self.text else 1


# --- source text <-> bytes, as the file would be on disk ---


def _declared_encoding(data: bytes) -> str:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:  # an unknown coding cookie: the engine reports it (ASL001)
        return "utf-8"
    return "utf-8" if encoding == "utf-8-sig" else encoding


def source_bytes(body: str) -> tuple[bytes, str]:
    """The bytes the file would hold: encoded as its coding cookie says (UTF-8 without one), so that
    the engine decodes exactly ``body``; and that encoding."""
    data = body.encode("utf-8", "surrogatepass")
    encoding = _declared_encoding(data)
    if encoding != "utf-8":
        try:
            return body.encode(encoding), encoding
        except (UnicodeEncodeError, LookupError):
            pass  # the declared encoding cannot hold the text (it could not be saved so): lint it as UTF-8
    return data, "utf-8"


# --- noqa comments ---


def noqa_edits(snapshot: Snapshot, finding: Finding) -> list[tuple[int, int, str]]:
    """The edits that suppress ``finding`` as ``asynclint --add-noqa`` would: its code added to the
    line's ``# noqa: X`` list, or ``  # noqa: CODE`` at the end of the line (the line that ends a
    multi-line string or a backslash continuation, where the engine reads it). None needed: []."""
    from asynclint.addnoqa import add_noqa

    geometry = snapshot.geometry
    data, encoding = source_bytes(geometry.body)
    added = add_noqa(data, [finding])
    if not added.lines:
        return []
    after = added.source.decode(encoding, "surrogatepass")
    return [(start + geometry.bom, end + geometry.bom, text) for start, end, text in diff_offsets(geometry.body, after)]


# --- configuration, found from the document's path as the CLI finds it ---


@dataclass
class Settings:
    config: Config
    #: the file the configuration came from (None: the defaults)
    source: Path | None = None
    #: why the file could not be used (the defaults are used instead)
    problem: str | None = None


class ConfigCache:
    """The configuration for a document: the nearest ``asynclint.toml`` or ``pyproject.toml`` with a
    ``[tool.asynclint]`` table; a file is read again when its size or modification time changes."""

    def __init__(self) -> None:
        self._files: dict[Path, tuple[tuple[int, int, int], Settings]] = {}
        #: the defaults, one per project root (the same object each time: a lint stays valid)
        self._defaults: dict[Path, Settings] = {}

    def clear(self) -> None:
        self._files.clear()

    def settings(self, start: Path, default_root: Path) -> Settings:
        try:
            found = find_config_file(start)
        except OSError as exc:
            return Settings(Config(root=default_root), None, f"cannot look for a configuration file: {exc}")
        if found is None:
            if default_root not in self._defaults:
                self._defaults[default_root] = Settings(Config(root=default_root))
            return self._defaults[default_root]
        try:
            info = found.stat()
            signature = (info.st_mtime_ns, info.st_size, info.st_ino)
        except OSError:
            signature = (0, 0, 0)
        cached = self._files.get(found)
        if cached is not None and cached[0] == signature:
            return cached[1]
        try:
            config = load_file(found)
            registry.check_config(config)
            settings = Settings(config, found)
        except ConfigError as exc:
            message = str(exc) if str(exc).startswith(str(found)) else f"{found}: {exc}"
            settings = Settings(Config(root=default_root), found, message)
        self._files[found] = (signature, settings)
        return settings


# --- one lint of one version of a document ---


@dataclass
class Snapshot:
    uri: str
    version: int | None
    geometry: Geometry
    result: Result
    settings: Settings
    path: str
    encoding: str = "utf-8"
    #: the text after every safe fix (--fix), computed on demand
    fixed: str | None = None

    @property
    def findings(self) -> list[Finding]:
        return self.result.findings


_DOC_URLS: dict[str, str] = {}


def doc_url(code: str) -> str | None:
    """The rule's section of docs/rules.md (the same address SARIF's ``helpUri`` gives)."""
    if not _DOC_URLS:
        from asynclint.docs import anchor
        from asynclint.links import rules_doc_url

        base = rules_doc_url()
        _DOC_URLS[registry.SYNTAX_ERROR_CODE] = f"{base}#asynclint-rules"
        for rule in registry.all_rules():
            _DOC_URLS[rule.code] = f"{base}#{anchor(rule)}"
    return _DOC_URLS.get(code)


def lint_document(uri: str, text: str, version: int | None, path: str, settings: Settings, encoding: str) -> Snapshot:
    """Lint the editor's text of a document with the path it has (per-file-ignores, test files)."""
    geometry = Geometry(text, encoding)
    data, file_encoding = source_bytes(geometry.body)
    result = lint_bytes(data, path, settings.config)
    return Snapshot(uri, version, geometry, result, settings, path, file_encoding)


def fix_all_text(snapshot: Snapshot) -> str | None:
    """The document's text after ``--fix`` (safe fixes until nothing changes); None when a fix
    failed (the CLI would report it and leave the file)."""
    if snapshot.fixed is None:
        from asynclint.fixes import fix_bytes

        data, encoding = source_bytes(snapshot.geometry.body)
        fixed = fix_bytes(data, snapshot.path, snapshot.settings.config, unsafe=False)
        if fixed.error is not None:
            return None
        body = fixed.source.decode(encoding, "surrogatepass")
        snapshot.fixed = snapshot.geometry.text[: snapshot.geometry.bom] + body
    return snapshot.fixed


# --- turning findings into LSP values ---


def _range(geometry: Geometry, start: int, end: int) -> lsp.Range:
    from lsprotocol import types as lsp

    line, character = geometry.position(start)
    end_line, end_character = geometry.position(end)
    return lsp.Range(lsp.Position(line, character), lsp.Position(end_line, end_character))


def finding_offsets(geometry: Geometry, finding: Finding) -> tuple[int, int]:
    start = geometry.engine_offset(finding.line, finding.col)
    end = geometry.engine_offset(finding.end_line, finding.end_col)
    return start, max(start, end)


def diagnostic(snapshot: Snapshot, finding: Finding) -> lsp.Diagnostic:
    from lsprotocol import types as lsp

    start, end = finding_offsets(snapshot.geometry, finding)
    url = doc_url(finding.code)
    return lsp.Diagnostic(
        range=_range(snapshot.geometry, start, end),
        message=finding.message,
        severity=lsp.DiagnosticSeverity.Error
        if finding.code == registry.SYNTAX_ERROR_CODE
        else lsp.DiagnosticSeverity.Warning,
        code=finding.code,
        code_description=lsp.CodeDescription(href=url) if url else None,
        source=SOURCE,
    )


def _kind_wanted(kind: str, only: Sequence[str] | None) -> bool:
    """LSP's ``only`` filter: a requested kind covers itself and the kinds below it."""
    if only is None:
        return True
    return any(kind == wanted or kind.startswith(f"{wanted}.") for wanted in only)


@dataclass
class EditTarget:
    """How a WorkspaceEdit names the document: versioned ``documentChanges`` when the client takes them."""

    uri: str
    version: int | None
    document_changes: bool = False

    def edit(self, geometry: Geometry, edits: Sequence[tuple[int, int, str]]) -> lsp.WorkspaceEdit:
        from lsprotocol import types as lsp

        text_edits_ = [lsp.TextEdit(range=_range(geometry, s, e), new_text=t) for s, e, t in edits]
        if self.document_changes:
            return lsp.WorkspaceEdit(
                document_changes=[
                    lsp.TextDocumentEdit(
                        text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                        edits=list(text_edits_),
                    )
                ]
            )
        return lsp.WorkspaceEdit(changes={self.uri: text_edits_})


def _overlaps(geometry: Geometry, finding: Finding, start: int, end: int) -> bool:
    f_start, f_end = finding_offsets(geometry, finding)
    return f_start <= end and start <= f_end


def fix_edits(snapshot: Snapshot, finding: Finding) -> list[tuple[int, int, str]]:
    """The edits of ``finding``'s fix alone, as ``--output-format json`` gives them (imports included)."""
    geometry = snapshot.geometry
    out = []
    for edit in text_edits(snapshot.result, finding):
        out.append(
            (geometry.engine_offset(edit.line, edit.col), geometry.engine_offset(edit.end_line, edit.end_col), edit.content)
        )
    return out


def quick_fixes(
    snapshot: Snapshot, start: int, end: int, target: EditTarget
) -> list[lsp.CodeAction]:
    """For each finding touching [start, end]: its fix (safe or, labelled so, unsafe) and a noqa action."""
    from lsprotocol import types as lsp

    actions: list[lsp.CodeAction] = []
    noqa: list[lsp.CodeAction] = []
    geometry = snapshot.geometry
    for finding in snapshot.findings:
        if finding.code == registry.SYNTAX_ERROR_CODE or not _overlaps(geometry, finding, start, end):
            continue
        diag = diagnostic(snapshot, finding)
        fix = finding.fix
        if fix is not None:
            edits = fix_edits(snapshot, finding)
            if edits:
                safe = fix.safety is Safety.SAFE
                actions.append(
                    lsp.CodeAction(
                        title=f"Fix {finding.code}: {fix.title}" + ("" if safe else " (unsafe)"),
                        kind=lsp.CodeActionKind.QuickFix,
                        diagnostics=[diag],
                        is_preferred=safe,
                        edit=target.edit(geometry, edits),
                    )
                )
        suppress = noqa_edits(snapshot, finding)
        if suppress and not any(a.title == f"Disable {finding.code} for this line" for a in noqa):
            noqa.append(
                lsp.CodeAction(
                    title=f"Disable {finding.code} for this line",
                    kind=lsp.CodeActionKind.QuickFix,
                    diagnostics=[diag],
                    edit=target.edit(geometry, suppress),
                )
            )
    return actions + noqa


def fix_all_action(snapshot: Snapshot, target: EditTarget, lazy: bool) -> lsp.CodeAction | None:
    """``source.fixAll.asynclint``: every safe fix, as ``asynclint --fix`` applies them. ``lazy``:
    the edit is left for ``codeAction/resolve`` (the client asks only when the user picks it)."""
    from lsprotocol import types as lsp

    if not any(f.fix is not None and f.fix.safety is Safety.SAFE for f in snapshot.findings):
        return None
    action = lsp.CodeAction(title=FIX_ALL_TITLE, kind=FIX_ALL_KIND)
    if lazy:
        action.data = {"uri": snapshot.uri, "version": snapshot.version}
        return action
    return resolve_fix_all(snapshot, action, target)


def resolve_fix_all(snapshot: Snapshot, action: lsp.CodeAction, target: EditTarget) -> lsp.CodeAction | None:
    fixed = fix_all_text(snapshot)
    if fixed is None or fixed == snapshot.geometry.text:
        return None
    action.edit = target.edit(snapshot.geometry, diff_offsets(snapshot.geometry.text, fixed))
    return action


# --- the server ---


@dataclass
class Session:
    """The state of one editor session: open documents' latest lints, configurations, the worker."""

    cwd: Path = field(default_factory=Path.cwd)
    configs: ConfigCache = field(default_factory=ConfigCache)
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    #: configuration problems already shown to the user (shown once per file and message)
    shown: set[str] = field(default_factory=set)
    #: one thread: lints run in order, off the thread that reads messages (the engine is not
    #: thread-safe: it raises the recursion limit for a walk)
    worker: concurrent.futures.ThreadPoolExecutor = field(
        default_factory=lambda: concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="asynclint")
    )
    shutdown_requested: bool = False


def _log(ls: LanguageServer, message: str, error: bool = True) -> None:
    from lsprotocol import types as lsp

    try:
        ls.window_log_message(
            lsp.LogMessageParams(type=lsp.MessageType.Error if error else lsp.MessageType.Info, message=message)
        )
    except Exception:  # noqa: BLE001, S110 - the client is gone: there is no one to tell
        pass


def _internal_error(ls: LanguageServer, what: str) -> None:
    _log(ls, f"asynclint: internal error while {what} (please report it):\n{traceback.format_exc()}")


def build_server(session: Session | None = None) -> LanguageServer:
    from lsprotocol import types as lsp
    from pygls.capabilities import get_capability
    from pygls.exceptions import FeatureRequestError, JsonRpcException
    from pygls.lsp.server import LanguageServer
    from pygls.protocol import LanguageServerProtocol
    from pygls.uris import to_fs_path

    class Protocol(LanguageServerProtocol):
        def structure_message(self, data: dict[str, Any]) -> Any:
            """pygls drops a request whose params it cannot read; the client would wait for the answer
            for ever: answer it with the error."""
            try:
                return super().structure_message(data)
            except JsonRpcException as exc:
                if "id" in data and "method" in data:
                    error = lsp.ResponseError(code=exc.code, message=f"{exc.message} ({data['method']})")
                    self._send_response(data["id"], error=error)
                raise

    class Server(LanguageServer):
        def report_server_error(self, error: Exception, source: Any) -> None:
            """Into the client's log, not a pop-up (pygls's default); a failed request's answer
            carries its error already."""
            if source is not FeatureRequestError:
                _log(self, f"asynclint: {type(error).__name__}: {error}")

    state = session or Session()
    server = Server(
        "asynclint",
        __version__,
        text_document_sync_kind=lsp.TextDocumentSyncKind.Full,
        protocol_cls=Protocol,
    )

    def encoding() -> str:
        value = server.workspace.position_encoding if server.protocol.workspace is not None else None
        return str(getattr(value, "value", value) or "utf-16")

    def capability(name: str) -> Any:
        """A client capability by its dotted path (None where the client leaves it out)."""
        return get_capability(server.client_capabilities, name, None)

    def paths(uri: str) -> tuple[str, Path, Path]:
        """The path the engine gets, where the configuration search starts, and the project root
        used when no configuration file exists (the workspace folder, as a CLI run from it)."""
        fs_path = to_fs_path(uri)
        folders = []
        try:
            for folder in server.workspace.folders.values():
                folder_path = to_fs_path(folder.uri)
                if folder_path:
                    folders.append(Path(folder_path))
            if not folders and server.workspace.root_path:
                folders.append(Path(server.workspace.root_path))
        except Exception:  # noqa: BLE001 - no usable workspace folders: the working folder is the root
            folders = []
        if fs_path is None:  # an unsaved buffer: the workspace's configuration
            root = folders[0] if folders else state.cwd
            return uri, root, root
        path = Path(fs_path)
        inside = [f for f in folders if path.is_relative_to(f)]
        root = max(inside, key=lambda f: len(f.parts)) if inside else state.cwd
        return fs_path, path, root

    def document(uri: str) -> Any:
        """The open document (pygls keeps them by unquoted URI), or None."""
        return server.workspace.text_documents.get(unquote(uri))

    def is_python(uri: str) -> bool:
        language = getattr(document(uri), "language_id", None)
        return language == "python" or uri.endswith((".py", ".pyi"))

    def lint_now(uri: str, text: str, version: int | None) -> Snapshot:
        path, start, root = paths(uri)
        settings = state.configs.settings(start, root)
        return lint_document(uri, text, version, path, settings, encoding())

    async def in_worker(fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(state.worker, fn)

    def tell_problems(snapshot: Snapshot) -> None:
        problem = snapshot.settings.problem
        if problem is not None and problem not in state.shown:
            state.shown.add(problem)
            message = f"asynclint: {problem}; using the default settings"
            _log(ls=server, message=message)
            server.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Error, message=message))
        if snapshot.result.error is not None:
            _log(server, f"asynclint: {snapshot.path}: {snapshot.result.error}")

    async def current_snapshot(uri: str) -> Snapshot | None:
        """The lint of the document as the editor has it now (from the cache when nothing changed)."""
        current = document(uri)
        if current is None:
            return None
        text, version = current.source, current.version
        cached = state.snapshots.get(uri)
        if cached is not None and cached.geometry.text == text and cached.geometry.encoding == encoding():
            _, start, root = paths(uri)
            settings = await in_worker(lambda: state.configs.settings(start, root))
            if settings is cached.settings:
                cached.version = version
                return cached
        snapshot = await in_worker(lambda: lint_now(uri, text, version))
        state.snapshots[uri] = snapshot
        return snapshot

    async def publish(uri: str) -> None:
        try:
            if not is_python(uri):
                return
            current = document(uri)
            if current is None:
                return
            text, version = current.source, current.version

            def job() -> Snapshot | None:
                latest = document(uri)
                if latest is None or latest.version != version or latest.source != text:
                    return None  # a newer version is queued: lint that one
                return lint_now(uri, text, version)

            snapshot = await in_worker(job)
            latest = document(uri)
            if snapshot is None or latest is None or latest.version != version:
                return
            state.snapshots[uri] = snapshot
            tell_problems(snapshot)
            server.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(
                    uri=uri, version=version, diagnostics=[diagnostic(snapshot, f) for f in snapshot.findings]
                )
            )
        except Exception:  # noqa: BLE001 - logged; the server goes on
            _internal_error(server, f"linting {uri}")

    async def publish_all() -> None:
        for open_document in list(server.workspace.text_documents.values()):
            await publish(open_document.uri)

    def config_changed(uri: str) -> bool:
        return uri.rsplit("/", 1)[-1] in CONFIG_NAMES

    @server.feature(lsp.INITIALIZED)
    async def initialized(ls: LanguageServer, params: lsp.InitializedParams) -> None:
        try:
            if capability("workspace.did_change_watched_files.dynamic_registration"):
                options = lsp.DidChangeWatchedFilesRegistrationOptions(
                    watchers=[lsp.FileSystemWatcher(glob_pattern=f"**/{name}") for name in CONFIG_NAMES]
                )
                await ls.client_register_capability_async(
                    lsp.RegistrationParams(
                        registrations=[
                            lsp.Registration(
                                id="asynclint-config-files",
                                method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                register_options=options,
                            )
                        ]
                    )
                )
        except Exception:  # noqa: BLE001 - logged; the server goes on
            _internal_error(ls, "asking the client to watch configuration files")

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: LanguageServer, params: lsp.DidOpenTextDocumentParams) -> None:
        await publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: LanguageServer, params: lsp.DidChangeTextDocumentParams) -> None:
        await publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: LanguageServer, params: lsp.DidSaveTextDocumentParams) -> None:
        if config_changed(params.text_document.uri):
            await publish_all()  # the configuration is read again: its size or time changed
        else:
            await publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LanguageServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        state.snapshots.pop(uri, None)
        try:
            ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        except Exception:  # noqa: BLE001 - logged; the server goes on
            _internal_error(ls, f"closing {uri}")

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def changed_configuration(ls: LanguageServer, params: lsp.DidChangeConfigurationParams) -> None:
        """Nothing to do: the settings come from the project's files, not from the editor."""

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def watched_files(ls: LanguageServer, params: lsp.DidChangeWatchedFilesParams) -> None:
        if any(config_changed(change.uri) for change in params.changes):
            state.configs.clear()
            await publish_all()

    def edit_target(uri: str, version: int | None) -> EditTarget:
        return EditTarget(
            uri, version, bool(capability("workspace.workspace_edit.document_changes"))
        )

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(
            code_action_kinds=[lsp.CodeActionKind.QuickFix, FIX_ALL_KIND], resolve_provider=True
        ),
    )
    async def code_action(ls: LanguageServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
        uri = params.text_document.uri
        try:
            if not is_python(uri):
                return None
            snapshot = await current_snapshot(uri)
            if snapshot is None:
                return None
            only = params.context.only
            target = edit_target(uri, snapshot.version)
            actions: list[lsp.CodeAction] = []
            if _kind_wanted(QUICKFIX_KIND, only):
                geometry = snapshot.geometry
                start = geometry.offset(params.range.start.line, params.range.start.character)
                end = geometry.offset(params.range.end.line, params.range.end.character)
                actions.extend(await in_worker(lambda: quick_fixes(snapshot, start, end, target)))
            if _kind_wanted(FIX_ALL_KIND, only):
                lazy = bool(
                    "edit" in (capability("text_document.code_action.resolve_support.properties") or [])
                )
                fix_all = await in_worker(lambda: fix_all_action(snapshot, target, lazy))
                if fix_all is not None:
                    actions.append(fix_all)
            return actions
        except Exception:  # noqa: BLE001 - logged; the editor gets no actions
            _internal_error(ls, f"computing code actions for {uri}")
            return None

    @server.feature(lsp.CODE_ACTION_RESOLVE)
    async def code_action_resolve(ls: LanguageServer, action: lsp.CodeAction) -> lsp.CodeAction:
        try:
            data = action.data if isinstance(action.data, dict) else {}
            uri = data.get("uri")
            if action.kind != FIX_ALL_KIND or not isinstance(uri, str):
                return action
            snapshot = await current_snapshot(uri)
            if snapshot is None:
                return action
            target = edit_target(uri, snapshot.version)
            resolved = await in_worker(lambda: resolve_fix_all(snapshot, action, target))
            return resolved or action
        except Exception:  # noqa: BLE001 - logged; the action stays unresolved
            _internal_error(ls, "resolving a code action")
            return action

    @server.feature(lsp.SHUTDOWN)
    def shutdown(ls: LanguageServer, params: Any = None) -> None:
        state.shutdown_requested = True

    return server


def serve(stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Run the server until the client says ``exit`` (or closes stdin). 0 after a ``shutdown``
    request, 1 otherwise (as LSP asks)."""
    session = Session()
    server = build_server(session)
    real_stdout = sys.stdout
    # the protocol owns stdout: anything printed by accident goes to stderr instead
    sys.stdout = sys.stderr
    try:
        server.start_io(stdin, stdout)
    finally:
        sys.stdout = real_stdout
        session.worker.shutdown(wait=False, cancel_futures=True)
    return 0 if session.shutdown_requested else 1


def run(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """``asynclint server [--stdio]``: the CLI's entry point for the language server."""
    from asynclint.cli import UsageError

    for arg in argv:
        if arg in ("-h", "--help"):
            out.write(USAGE + "\n")
            return 0
        if arg != "--stdio":  # what vscode-languageclient adds for the stdio transport
            raise UsageError(f"server: unknown argument {arg!r}; {USAGE}")
    try:
        import lsprotocol.types  # noqa: F401
        import pygls.lsp.server  # noqa: F401
    except ImportError:
        err.write(f"asynclint: {MISSING_PYGLS}\n")
        return 2
    return serve(sys.stdin.buffer, sys.stdout.buffer)
