"""Which calls read, write or append to a file, and an index of them per function.

Shared by ASL300 (shared-file-write) and the ``asynclint concurrency`` report."""
from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from asynclint.semantics import Context
from asynclint.semantics.thread_common import OPENERS, Callable_, _arg

_WRITE_MODE_CHARS = frozenset("wax+")
_PATH_WRITERS = frozenset({"write_text", "write_bytes"})
_APPEND_ONLY_MODES = frozenset({"a", "ab", "ba", "at", "ta"})
#: ``Path`` methods that read the file or look at it (check-then-act)
_PATH_READERS = frozenset({"read_text", "read_bytes", "open", "exists", "is_file", "stat"})
_PATH_CHECKS = frozenset({"os.path.exists", "os.path.isfile", "os.path.getsize", "os.stat"})


@dataclass(frozen=True)
class Access:
    """One call that touches a file: its path expression and whether it reads, writes, or makes
    a single append (``with open(P, "a") as f: f.write(x)``, which the OS lands whole)."""

    call: cst.Call
    path: cst.BaseExpression
    kind: str  # "read", "write" or "append"


def accesses(ctx: Context, calls: list[tuple[cst.Call, Callable_ | None]]) -> dict[int, list[Access]]:
    """The file accesses of each function (by id), in source order: one pass over the module's
    calls, computed once per file and shared by every rule that asks."""

    def build() -> dict[int, list[Access]]:
        out: dict[int, list[Access]] = {}
        for call, owner in calls:
            if owner is None:
                continue
            written = written_path(ctx, call)
            if written is not None:
                kind = "append" if single_append(ctx, call) else "write"
                out.setdefault(id(owner), []).append(Access(call, written, kind))
                continue
            read = read_path(ctx, call)
            if read is not None:
                out.setdefault(id(owner), []).append(Access(call, read, "read"))
        return out

    return ctx.memo("file_access.accesses", build)  # type: ignore[return-value]


def read_path(ctx: Context, call: cst.Call) -> cst.BaseExpression | None:
    """The path expression when ``call`` reads a file or checks that it exists."""
    func = call.func
    names = ctx.qualified_names(func)
    if names & OPENERS:
        return _arg(call, 0, "file", "filename")
    if names & _PATH_CHECKS:
        return _arg(call, 0, "path")
    if isinstance(func, cst.Attribute) and func.attr.value in _PATH_READERS:
        return func.value
    return None


def written_path(ctx: Context, call: cst.Call) -> cst.BaseExpression | None:
    """The path expression when ``call`` opens a file for writing, else None."""
    func = call.func
    if ctx.qualified_names(func) & OPENERS:
        mode = _arg(call, 1, "mode")
        return _arg(call, 0, "file", "filename") if _writes(mode) else None
    if isinstance(func, cst.Attribute):
        if func.attr.value in _PATH_WRITERS:
            return func.value
        if func.attr.value == "open" and _writes(_arg(call, 0, "mode")):
            return func.value
    return None


def single_append(ctx: Context, call: cst.Call) -> bool:
    """True for ``with open(PATH, "a") as f: f.write(...)``: one ``O_APPEND`` write per open,
    which the OS appends whole, so concurrent calls neither interleave nor truncate."""
    names = ctx.qualified_names(call.func)
    if names & OPENERS:
        # codecs.open(filename, mode, encoding, errors, buffering): buffering comes fifth
        mode, buffering = _arg(call, 1, "mode"), _arg(call, 4 if "codecs.open" in names else 2, "buffering")
    elif isinstance(call.func, cst.Attribute) and call.func.attr.value == "open":
        mode, buffering = _arg(call, 0, "mode"), _arg(call, 1, "buffering")
    else:
        return False
    if buffering is not None or not _appends_only(mode):
        return False
    item = ctx.parent(call)
    block = ctx.parent(item) if item is not None else None
    if (
        not isinstance(item, cst.WithItem)
        or not isinstance(block, cst.With)
        or len(block.items) != 1
        or item.asname is None
        or not isinstance(item.asname.name, cst.Name)
    ):
        return False
    write = _only_call(block.body)
    return (
        write is not None
        and isinstance(write.func, cst.Attribute)
        and write.func.attr.value == "write"
        and isinstance(write.func.value, cst.Name)
        and write.func.value.value == item.asname.name.value
        and len(write.args) == 1
        and write.args[0].keyword is None
        and not write.args[0].star
    )


def _only_call(body: cst.BaseSuite) -> cst.Call | None:
    """The call when ``body`` is exactly one expression statement that is a call."""
    if isinstance(body, cst.IndentedBlock):
        if len(body.body) != 1 or not isinstance(body.body[0], cst.SimpleStatementLine):
            return None
        smalls = body.body[0].body
    elif isinstance(body, cst.SimpleStatementSuite):
        smalls = body.body
    else:
        return None
    if len(smalls) != 1 or not isinstance(smalls[0], cst.Expr) or not isinstance(smalls[0].value, cst.Call):
        return None
    return smalls[0].value


def _appends_only(mode: cst.BaseExpression | None) -> bool:
    """``"a"``, ``"ab"``, ``"at"``: append without read (``"a+"`` can seek and read back)."""
    if not isinstance(mode, cst.SimpleString):
        return False
    value = mode.evaluated_value
    text = value.decode() if isinstance(value, bytes) else value
    return text in _APPEND_ONLY_MODES


def _writes(mode: cst.BaseExpression | None) -> bool:
    if not isinstance(mode, cst.SimpleString):
        return False
    value = mode.evaluated_value
    text = value.decode() if isinstance(value, bytes) else value
    return bool(set(text) & _WRITE_MODE_CHARS)
