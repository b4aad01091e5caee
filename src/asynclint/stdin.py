"""Checking standard input (``asynclint -``): one file named by ``--stdin-filename``, never written."""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

from asynclint import parallel
from asynclint.model import FileOutcome, Result
from asynclint.prepare import specs_of

#: the name findings carry when --stdin-filename is not given (ruff's)
DEFAULT_NAME = "-"


@dataclass
class StdinRun:
    """What a run on standard input produced besides its outcome."""

    outcome: FileOutcome
    #: --fix: the text to print on stdout (the input itself when nothing was fixed)
    fixed: bytes | None = None
    #: --fix: the fixable findings of the input, by (code, slug) (what --show-fixes reports)
    before: Counter[tuple[str, str]] = field(default_factory=Counter)


def read(stream: TextIO | None = None) -> bytes:
    """The bytes of standard input (as given: the encoding is the source's business)."""
    stream = sys.stdin if stream is None else stream
    if stream is None:  # pythonw, or a closed descriptor 0
        raise OSError("standard input is not available")
    binary: BinaryIO | None = getattr(stream, "buffer", None)
    if binary is not None:
        return binary.read()
    return stream.read().encode("utf-8")


def check(data: bytes, name: str, options: parallel.Options, excluded: bool = False) -> StdinRun:
    """Lint, fix or diff ``data`` as the file ``name``: the configuration's per-file rules apply to
    that name, nothing is written. ``excluded`` (--force-exclude matched the name): nothing is
    checked and --fix gives the input back unchanged."""
    if excluded:
        return StdinRun(FileOutcome(name, result=Result(path=name)), fixed=data if options.mode == "fix" else None)
    if options.mode == "lint":
        try:
            return StdinRun(parallel.process_file(Path(name), data, options, specs_of(options.codes), portable=False))
        except Exception as exc:  # a bug outside the engine: one line, as for a file
            error = f"internal error: {type(exc).__name__}: {exc}"
            return StdinRun(FileOutcome(name, result=Result(path=name, error=error)))
    from asynclint import registry
    from asynclint.fixes import applicable, fix_bytes, unified_diff

    by_code = registry.rules_by_code()
    try:
        fixed = fix_bytes(data, name, options.config, unsafe=options.unsafe, rules=[by_code[c] for c in options.codes])
    except (RecursionError, MemoryError):  # CPython's compiler gives up on code nested too deeply
        outcome = FileOutcome(name, fix_error=f"{name}: nested too deeply to fix", result=Result(path=name))
        return StdinRun(outcome, fixed=data if options.mode == "fix" else None)
    outcome = FileOutcome(name, fix_error=fixed.error, changed=fixed.changed)
    outcome.result = fixed.lint if fixed.lint is not None else Result(path=name)
    before = Counter(
        (f.code, f.slug) for f in (fixed.before.findings if fixed.before else []) if applicable(f, options.unsafe)
    )
    if options.mode == "diff":
        if fixed.changed:
            outcome.diff = unified_diff(name, fixed.original, fixed.source)
        return StdinRun(outcome, before=before)
    outcome.fixed = fixed.fixed
    return StdinRun(outcome, fixed=fixed.source, before=before)


def write_source(out: TextIO, data: bytes) -> None:
    """``data`` on ``out`` byte for byte where it has a binary buffer (the encoding, BOM and line
    endings of the input are kept)."""
    binary: BinaryIO | None = getattr(out, "buffer", None)
    if binary is None:
        out.write(data.decode("utf-8", "replace"))
        return
    out.flush()
    binary.write(data)
    binary.flush()
