"""The public, pure API every front end calls: lint_source, fix_source, discover_files, lint_paths."""
from __future__ import annotations

from typing import Iterable, Sequence

from asynclint import registry
from asynclint.config import Config
from asynclint.engine import Result, lint_bytes
from asynclint.files import DEFAULT_EXCLUDES, FileError, discover_files, read_file
from asynclint.fixes import FixResult, fix_bytes
from asynclint.rule import Rule

__all__ = ["Result", "FixResult", "lint_source", "fix_source", "discover_files", "lint_paths", "FileError", "read_file", "DEFAULT_EXCLUDES"]

def _to_bytes(source: str | bytes) -> bytes:
    return source.encode("utf-8") if isinstance(source, str) else source


def lint_source(source: str | bytes, path: str = "<string>", config: Config | None = None) -> Result:
    """Lint one module's source. Pure: no printing, no filesystem."""
    return lint_bytes(_to_bytes(source), path, config or Config())


def fix_source(
    source: str | bytes, path: str = "<string>", config: Config | None = None, unsafe: bool = False
) -> FixResult:
    """Apply fixes until nothing changes; ``result.source`` is the new text (bytes)."""
    return fix_bytes(_to_bytes(source), path, config or Config(), unsafe=unsafe)


def lint_paths(
    paths: Sequence[str], config: Config, rules: Sequence[type[Rule]] | None = None
) -> Iterable[Result | FileError]:
    """Lint every file under ``paths``; a file that cannot be read becomes a FileError."""
    if rules is None:
        rules = registry.enabled_rules(config)
    for path in discover_files(paths, config):
        data = read_file(path)
        if isinstance(data, FileError):
            yield data
            continue
        yield lint_bytes(data, str(path), config, rules)
