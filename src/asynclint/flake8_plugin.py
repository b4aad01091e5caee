"""The flake8 plugin: ``flake8 --select ASL`` runs every asynclint rule through the engine, never fixes."""
from __future__ import annotations

import ast
import codecs
import importlib
import io
import os
import pickle
import re
import sys
import tempfile
import tokenize
from pathlib import Path
from typing import Any, ClassVar, Iterator, Sequence

from asynclint import __version__, deps, prepare, registry
from asynclint.config import FIX_STYLES, Config, ConfigError, config_from_mapping
from asynclint.specs import SPECS, Spec

#: flake8 option name -> asynclint Config key (the ``[tool.asynclint]`` spelling). flake8 has its own
#: select/ignore/per-file-ignores/exclude, so those keys have no plugin option.
OPTIONS: dict[str, str] = {
    "asynclint-extra-blocking-calls": "extra-blocking-calls",
    "asynclint-fix-style": "fix-style",
    "asynclint-target-version": "target-version",
    "asynclint-async-decorators": "async-decorators",
    "asynclint-thread-entrypoints": "thread-entrypoints",
    "asynclint-lock-names": "lock-names",
}

_HELP = {
    "asynclint-extra-blocking-calls": "comma-separated NAME=REPLACEMENT pairs: calls (qualified names) reported "
    "as blocking (ASL260), and the async alternative the message names, e.g. "
    "'mylib.fetch=mylib.afetch,legacy.Client.get=legacy.AsyncClient.get'",
    "asynclint-fix-style": f"thread wrapper the messages suggest: {' or '.join(FIX_STYLES)} (default: to-thread)",
    "asynclint-target-version": "lowest Python the code runs on, e.g. py38 (below py39 messages suggest "
    "run_in_executor; default: py310)",
    "asynclint-async-decorators": "comma-separated decorators (qualified names) whose async def is exempt from ASL100",
    "asynclint-thread-entrypoints": "comma-separated decorators or qualified function names that run a sync "
    "function on a pool thread (ASL3xx)",
    "asynclint-lock-names": "comma-separated qualified names of extra lock constructors or lock objects (ASL3xx)",
}


def _dest(option: str) -> str:
    return option.replace("-", "_")


def _parse_blocking_calls(value: str) -> dict[str, str]:
    """``NAME=REPLACEMENT`` pairs separated by commas or newlines (spaces around ``=`` allowed, so
    not flake8's comma_separated_list, which also splits at spaces)."""
    out: dict[str, str] = {}
    for entry in re.split(r"[,\n]", value):
        if not entry.strip():
            continue
        name, equals, replacement = (part.strip() for part in entry.partition("="))
        if not (name and equals and replacement):
            raise ConfigError(f"asynclint-extra-blocking-calls: expected NAME=REPLACEMENT, got {entry!r}")
        out[name] = replacement
    return out


def config_from_options(options: Any) -> Config:
    """The asynclint Config for flake8's parsed options: every rule on (flake8 selects), plus the
    ``asynclint-*`` settings that were given."""
    data: dict[str, object] = {"select": ["ASL"]}
    for option, key in OPTIONS.items():
        value = getattr(options, _dest(option), None)
        if value is None or value == []:
            continue
        if key == "extra-blocking-calls":
            value = _parse_blocking_calls(value)
        data[key] = value
    return config_from_mapping(data, Path.cwd(), "flake8 options")


def _findings(
    source: bytes, filename: str, config: Config, rules: Sequence[Spec], use_cache: bool, tree: object = None
) -> list[tuple[int, int, str]]:
    """(line, 0-based column, "CODE message") of the file's findings, unsuppressed (flake8 applies
    ``# noqa``). Cached per file content: one small entry file per content, configuration and
    rules under ``.asynclint_cache/flake8/``, written atomically, so flake8's worker processes can
    share the folder; an entry is used again only while the files its findings depend on are
    unchanged (see asynclint.deps)."""
    entry_path: Path | None = None
    if use_cache:
        from asynclint import cache

        key = cache.content_hash(
            cache.secret()
            + repr((filename, config, tuple(r.code for r in rules), __version__, cache.code_fingerprint(), sys.version_info[:2])).encode()
            + source
        )
        entry_path = cache.folder(config.root) / "flake8" / f"{key}.pickle"
        from asynclint import callgraph

        callgraph.use_store(cache.folder(config.root))
        try:
            with open(entry_path, "rb") as fh:
                stored, dependencies = pickle.load(fh)
            if deps.unchanged(dependencies):
                return list(stored)
        except Exception:  # noqa: BLE001 - missing, unreadable or corrupt: lint the file
            pass
    deps.start()
    try:
        # flake8's own tree of the file spares the engine CPython's parse before the gate
        native = tree if isinstance(tree, ast.Module) else None
        result = prepare.lint_specs(source, filename, config, rules, noqa=False, tree=native)
    finally:
        dependencies = deps.collect()
    if result.error is not None:
        raise RuntimeError(f"asynclint: {filename}: {result.error}")
    found = [(f.line, f.col - 1, f"{f.code} {f.message}") for f in result.findings]
    if entry_path is not None:
        _store(entry_path, (found, dependencies))
    return found


def _store(path: Path, value: object) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        top = path.parent.parent
        for name, text in ((".gitignore", "# created by asynclint\n*\n"), ("CACHEDIR.TAG", _CACHEDIR_TAG)):
            if not (top / name).exists():
                (top / name).write_text(text)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only tree: the findings stand, the next run computes them again


_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by asynclint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def _selected(options: Any, code: str) -> bool:
    """flake8 would report ``code`` (its own decision, from select/ignore and their extend- forms);
    True when that cannot be told (an older flake8)."""
    try:
        style_guide = importlib.import_module("flake8.style_guide")
        decision = style_guide.DecisionEngine(options).decision_for(code)
        return bool(decision == style_guide.Decision.Selected)
    except Exception:  # noqa: BLE001 - another flake8 than the one this was written for: run
        return True


def _source_bytes(lines: Sequence[str]) -> bytes:
    """The file's bytes as the engine would read them, rebuilt from flake8's decoded lines: encoded
    with the file's own coding (a ``# -*- coding: latin-1 -*-`` cookie stays true)."""
    text = "".join(lines)
    head = "".join(lines[:2]).encode("utf-8", "surrogateescape")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(head).readline)
        codecs.lookup(encoding)
        return text.encode(encoding)
    except (SyntaxError, LookupError, UnicodeError):
        return text.encode("utf-8", "surrogateescape")


class AsyncLintChecker:
    """flake8 entry point ``ASL``.

    flake8 hands over its ``ast`` tree of the file: the gate (asynclint.gate) decides from it which
    rules can fire, and libcst parses only the files it admits. Each finding is yielded unsuppressed; flake8 applies
    ``# noqa``, ``--select``/``--ignore`` and ``--per-file-ignores`` itself.
    """

    name: ClassVar[str] = "asynclint"
    version: ClassVar[str] = __version__
    config: ClassVar[Config] = Config()
    #: the rules to run: the default ones, and off-by-default ones that flake8's select names in full
    rules: ClassVar[tuple[Spec, ...]] = ()
    #: no asynclint code can be reported under flake8's select/ignore options
    disabled: ClassVar[bool] = False
    #: read and write the result cache (off with --asynclint-no-cache)
    use_cache: ClassVar[bool] = True

    def __init__(self, tree: object, filename: str, lines: Sequence[str]) -> None:
        self.tree = tree
        self.filename = filename
        self.lines = lines

    @classmethod
    def add_options(cls, manager: Any) -> None:
        # rules that are off by default stay off under flake8 too, until ``--extend-select`` names them
        manager.extend_default_ignore(sorted(registry.off_by_default()))
        manager.add_option(
            "--asynclint-no-cache",
            action="store_true",
            default=False,
            parse_from_config=True,
            help="do not read or write asynclint's result cache (.asynclint_cache/flake8, or $ASYNCLINT_CACHE_DIR/flake8)",
        )
        for option, help_text in _HELP.items():
            kwargs: dict[str, Any] = {"default": None, "parse_from_config": True, "help": help_text}
            if option == "asynclint-fix-style":
                kwargs["metavar"] = "STYLE"
            elif option == "asynclint-target-version":
                kwargs["metavar"] = "VERSION"
            elif option == "asynclint-extra-blocking-calls":
                kwargs["metavar"] = "PAIRS"
            else:
                kwargs["comma_separated_list"] = True
                kwargs["metavar"] = "NAMES"
            manager.add_option(f"--{option}", **kwargs)

    @classmethod
    def parse_options(cls, options: Any) -> None:
        # as on the command line, ``--select ASL`` runs the default rules only: an off-by-default
        # rule runs when its full code is selected (flake8 itself would let a prefix enable it)
        named = {c.strip().upper() for c in [*(getattr(options, "select", None) or []),
                                             *(getattr(options, "extend_select", None) or [])]}
        cls.rules = tuple(SPECS[code] for code, _, default in registry.RULE_TABLE if default or code in named)
        # flake8 runs every installed plugin whatever --select says and drops what is not selected
        # afterwards: when no asynclint code can be reported (``--select E,W,F``, ``--ignore ASL``),
        # do no work at all instead of parsing every file with libcst for nothing
        cls.rules = tuple(r for r in cls.rules if _selected(options, r.code))
        cls.disabled = not cls.rules
        cls.use_cache = not getattr(options, "asynclint_no_cache", False)
        try:
            cls.config = config_from_options(options)
        except ConfigError as exc:
            # flake8 prints an ExecutionError as one message, without a traceback
            execution_error = importlib.import_module("flake8.exceptions").ExecutionError
            raise execution_error(f"asynclint: {exc}") from None

    def run(self) -> Iterator[tuple[int, int, str, type[AsyncLintChecker]]]:
        # flake8 runs tree plugins only on files Python's own parser accepted (otherwise it reports
        # E999 itself), so ASL001 appears here only where libcst fails on code Python accepts.
        if self.disabled:
            return
        rules = self.rules or tuple(SPECS[code] for code, _, default in registry.RULE_TABLE if default)
        for line, col, text in _findings(_source_bytes(self.lines), self.filename, self.config, rules, self.use_cache, self.tree):
            yield line, col, text, type(self)
