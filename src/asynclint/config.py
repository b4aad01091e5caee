"""Configuration: the Config dataclass and the ``[tool.asynclint]`` / ``asynclint.toml`` loader."""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]


class ConfigError(Exception):
    """A configuration problem: reported as one line, exit code 2."""


FIX_STYLES = ("to-thread", "run-in-executor")


@dataclass
class Config:
    select: list[str] = field(default_factory=lambda: ["ASL"])
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)
    extend_exclude: list[str] = field(default_factory=list)
    #: qualified name -> suggested replacement, reported as ASL260
    extra_blocking_calls: dict[str, str] = field(default_factory=dict)
    #: "to-thread" (``asyncio.to_thread``) or "run-in-executor" (``loop.run_in_executor``)
    fix_style: str = "to-thread"
    #: the lowest Python the linted code runs on, e.g. "py38"; below py39 fixes use run_in_executor
    target_version: str = "py310"
    #: decorators (qualified names) whose ``async def`` is exempt from ASL100
    async_decorators: list[str] = field(default_factory=list)
    #: decorators or qualified function names that run a sync function on a pool thread
    thread_entrypoints: list[str] = field(default_factory=list)
    #: qualified names of extra lock constructors or lock objects (ASL3xx "under a lock")
    lock_names: list[str] = field(default_factory=list)
    #: file and folder names (globs, matched against the file name and each folder of its path
    #: under the project root) that mark test code
    test_files: list[str] = field(
        default_factory=lambda: ["test_*.py", "*_test.py", "conftest.py", "tests", "test", "testing"]
    )
    #: code prefixes not reported in test code: a blocking call in a test stalls no request
    ignore_in_tests: list[str] = field(default_factory=lambda: ["ASL2"])
    #: directory the config came from: per-file-ignores and exclude patterns are relative to it
    root: Path = field(default_factory=Path.cwd)

    @property
    def uses_run_in_executor(self) -> bool:
        return self.fix_style == "run-in-executor" or _version_tuple(self.target_version) < (3, 9)


_KEYS = {f.name.replace("_", "-"): f for f in dataclasses.fields(Config) if f.name != "root"}


def _version_tuple(version: str) -> tuple[int, int]:
    digits = version.lower().removeprefix("py")
    if not digits.isdigit() or len(digits) < 2:
        raise ConfigError(f"target-version: expected a value like 'py38' or 'py312', got {version!r}")
    return int(digits[0]), int(digits[1:])


def _describe(value: Any) -> str:
    """What a TOML value is, for an error message: ``a table``, ``the integer 3``."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"a {type(value).__name__}"


def _string_list(key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list of strings, got {_describe(value)}")
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(f"{key}: expected a list of strings, got {_describe(item)} in the list")
    return list(value)


def _check_type(key: str, value: Any, default: Any) -> Any:
    if isinstance(default, list):
        items = _string_list(key, value)
        if key.replace("_", "-") in ("exclude", "extend-exclude"):
            for pattern in items:
                try:
                    import pathspec  # only when there are patterns: plain imports stay light

                    pathspec.GitIgnoreSpec.from_lines([pattern])
                except ValueError as exc:  # pathspec's GitWildMatchPatternError
                    raise ConfigError(f"{key}: invalid pattern {pattern!r} ({exc})") from None
        return items
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table, got {_describe(value)}")
        if key.replace("_", "-") == "per-file-ignores":
            return {k: _string_list(f"{key}: {k!r}", v) for k, v in value.items()}
        for name, item in value.items():
            if not isinstance(item, str):
                raise ConfigError(f"{key}: expected a table of strings, got {_describe(item)} for {name!r}")
        return dict(value)
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {_describe(value)}")
    return value


def config_from_mapping(data: dict[str, Any], root: Path, source: str = "configuration") -> Config:
    """Build a Config from a ``[tool.asynclint]`` table; unknown keys are errors naming the key."""
    config = Config(root=root)
    for key, value in data.items():
        spec = _KEYS.get(key) or _KEYS.get(key.replace("_", "-"))
        if spec is None:
            raise ConfigError(f"{source}: unknown key {key!r} in [tool.asynclint]")
        default = getattr(config, spec.name)
        try:
            setattr(config, spec.name, _check_type(key, value, default))
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    if config.fix_style not in FIX_STYLES:
        raise ConfigError(f"{source}: fix-style must be one of {', '.join(FIX_STYLES)}, got {config.fix_style!r}")
    try:
        _version_tuple(config.target_version)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return config


def load_file(path: Path) -> Config:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: [tool] must be a table, got {_describe(tool)}")
    if path.name == "pyproject.toml":
        table = tool.get("asynclint", {})
    else:
        table = tool.get("asynclint", data)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.asynclint] must be a table")
    return config_from_mapping(table, path.parent.resolve(), str(path))


def find_config_file(start: Path) -> Path | None:
    """The nearest ``asynclint.toml``, or ``pyproject.toml`` with a ``[tool.asynclint]`` table."""
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else [start.parent, *start.parent.parents]:
        candidate = folder / "asynclint.toml"
        if candidate.is_file():
            return candidate
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                with candidate.open("rb") as fh:
                    data = tomllib.load(fh)
            except (OSError, tomllib.TOMLDecodeError):
                return candidate  # let load_file report it
            tool = data.get("tool", {})
            if not isinstance(tool, dict) or "asynclint" in tool:
                return candidate  # a malformed [tool] is reported by load_file
    return None


def load_config(explicit: Path | None = None, start: Path | None = None) -> Config:
    if explicit is not None:
        return load_file(explicit)
    found = find_config_file(start or Path.cwd())
    return load_file(found) if found else Config()
