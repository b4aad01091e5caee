"""Configuration: the Config dataclass and the ``[tool.asynclint]`` / ``asynclint.toml`` loader."""
from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import glob
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]


class ConfigError(Exception):
    """A configuration problem: reported as one line, exit code 2."""


FIX_STYLES = ("to-thread", "run-in-executor")


#: what ``target-version`` accepts (checked by _version_tuple; the JSON schema's pattern)
TARGET_VERSION_PATTERN = "^([Pp][Yy])?[0-9]{2,}$"


def _key(description: str, *, codes: bool = False, enum: tuple[str, ...] = (), pattern: str = "", **kwargs: Any) -> Any:
    """A configuration key. The metadata is what the JSON schema (asynclint.config_schema) says of
    it: ``codes``, its values are rule codes or prefixes; ``enum``/``pattern``, the strings allowed."""
    metadata = {"description": description, "codes": codes, "enum": enum, "pattern": pattern}
    return field(metadata=metadata, **kwargs)


@dataclass
class Config:
    select: list[str] = _key(
        "Rule codes or code prefixes to enable; replaces the default set. The longest matching prefix "
        "among select, extend-select and ignore wins; a prefix (ASL, ASL1) selects only the rules that "
        "are on by default.",
        codes=True,
        default_factory=lambda: ["ASL"],
    )
    ignore: list[str] = _key("Rule codes or code prefixes to disable.", codes=True, default_factory=list)
    extend_select: list[str] = _key(
        "Rule codes or prefixes to enable in addition to select; off-by-default rules are named by their "
        "full code (ASL102, ASL104).",
        codes=True,
        default_factory=list,
    )
    per_file_ignores: dict[str, list[str]] = _key(
        "Glob pattern -> rule codes or prefixes not reported in the files it matches. A pattern with a "
        "slash is relative to the folder of the file that sets it; one without matches file names.",
        codes=True,
        default_factory=dict,
    )
    extend_per_file_ignores: dict[str, list[str]] = _key(
        "Like per-file-ignores, in addition to it: with extend, both files' entries apply.",
        codes=True,
        default_factory=dict,
    )
    exclude: list[str] = _key(
        "gitignore-style patterns of paths not checked when walking folders (relative to the folder of "
        "the file that sets them); replaces nothing built in (.git, virtual environments, build, ...).",
        default_factory=list,
    )
    extend_exclude: list[str] = _key("Patterns like exclude, in addition to it.", default_factory=list)
    #: qualified name -> suggested replacement, reported as ASL260
    extra_blocking_calls: dict[str, str] = _key(
        "Qualified name of a blocking callable asynclint does not know -> what to use instead (reported "
        "as ASL260).",
        default_factory=dict,
    )
    #: "to-thread" (``asyncio.to_thread``) or "run-in-executor" (``loop.run_in_executor``)
    fix_style: str = _key(
        "How fixes move a blocking call off the event loop: asyncio.to_thread(...) or "
        "loop.run_in_executor(None, functools.partial(...)).",
        enum=FIX_STYLES,
        default="to-thread",
    )
    #: the lowest Python the linted code runs on, e.g. "py38"; below py39 fixes use run_in_executor
    target_version: str = _key(
        "The lowest Python version the checked code runs on (py38, py312); below py39 fixes use "
        "run_in_executor.",
        pattern=TARGET_VERSION_PATTERN,
        default="py310",
    )
    #: decorators (qualified names) whose ``async def`` is exempt from ASL100
    async_decorators: list[str] = _key(
        "Qualified names of decorators whose async def is exempt from ASL100 and ASL104.", default_factory=list
    )
    #: decorators or qualified function names that run a sync function on a pool thread
    thread_entrypoints: list[str] = _key(
        "Qualified names of decorators or functions that run a sync function on a pool thread (ASL3xx).",
        default_factory=list,
    )
    #: qualified names of extra lock constructors or lock objects (ASL3xx "under a lock")
    lock_names: list[str] = _key(
        "Qualified names of extra lock constructors or lock objects (ASL3xx: code under them is locked).",
        default_factory=list,
    )
    #: file and folder names (globs, matched against the file name and each folder of its path
    #: under the project root) that mark test code
    test_files: list[str] = _key(
        "File and folder name globs that mark test code: the file name, or a folder of its path below "
        "the project root.",
        default_factory=lambda: ["test_*.py", "*_test.py", "conftest.py", "tests", "test", "testing"],
    )
    #: code prefixes not reported in test code: a blocking call in a test stalls no request
    ignore_in_tests: list[str] = _key(
        "Rule codes or prefixes not reported in test code (a blocking call in a test stalls no request).",
        codes=True,
        default_factory=lambda: ["ASL2"],
    )
    #: directory the config came from: per-file-ignores and exclude patterns are relative to it
    root: Path = field(default_factory=Path.cwd)

    @property
    def uses_run_in_executor(self) -> bool:
        return self.fix_style == "run-in-executor" or _version_tuple(self.target_version) < (3, 9)


_KEYS = {f.name.replace("_", "-"): f for f in dataclasses.fields(Config) if f.name != "root"}
#: every key a configuration file may set: the Config fields, and ``extend`` (read by load_file)
KEYS = (*_KEYS, "extend")
EXTEND_DESCRIPTION = (
    "Path of another configuration file (pyproject.toml or asynclint.toml; relative to this file's folder, "
    "~ and environment variables expanded) loaded first: the keys here override its values, except that "
    "extend-select, ignore, extend-exclude and extend-per-file-ignores add to them (as in ruff)."
)
#: the keys whose values accumulate along an ``extend`` chain (as in ruff); the others replace
ACCUMULATED = ("extend-select", "ignore", "extend-exclude", "extend-per-file-ignores")


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """`` (did you mean 'ignore'?)`` for the closest of ``choices``, or ``""`` when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return f" (did you mean {close[0]!r}?)" if close else ""


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
        if key.replace("_", "-") in ("per-file-ignores", "extend-per-file-ignores"):
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
            hint = did_you_mean(key.replace("_", "-").lower(), KEYS)
            raise ConfigError(f"{source}: unknown key {key!r} in [tool.asynclint]{hint}")
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


def _read_table(path: Path) -> dict[str, Any]:
    """The ``[tool.asynclint]`` table of ``path`` (a whole ``asynclint.toml`` without the header)."""
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
    return dict(table)


def load_file(path: Path) -> Config:
    """The configuration in ``path``, on top of the files it names with ``extend`` (a chain):
    ruff's semantics, see :func:`_merge`."""
    return _load(path, [])


def _load(path: Path, chain: list[tuple[Path, str]]) -> Config:
    table = _read_table(path)
    extend = table.pop("extend", None)
    own = config_from_mapping(table, path.parent.resolve(), str(path))
    if extend is None:
        return own
    if not isinstance(extend, str):
        raise ConfigError(f"{path}: extend: expected a string, got {_describe(extend)}")
    target = path.parent / os.path.expanduser(os.path.expandvars(extend))
    shown = os.path.normpath(target)
    seen = [*chain, (path.resolve(), os.path.normpath(path))]
    if any(resolved == target.resolve() for resolved, _ in seen):
        names = " extends ".join([*(name for _, name in seen), shown])
        raise ConfigError(f"{path}: extend: circular configuration: {names}")
    if not target.is_file():
        why = "is a directory" if target.is_dir() else "no such file"
        raise ConfigError(f"{path}: extend: {shown}: {why}")
    base = _load(target, seen)
    keys = {key.replace("_", "-") for key in table}
    return _merge(base, own, keys)


def _merge(base: Config, own: Config, keys: set[str]) -> Config:
    """``own`` (a file that sets ``keys``) over ``base`` (the file it extends), as ruff combines them:
    a key set here replaces the inherited value, except that ``extend-select``, ``ignore``,
    ``extend-exclude`` and ``extend-per-file-ignores`` accumulate; ``select`` set here drops the
    inherited ``extend-select`` and ``ignore`` too (ruff: a ``select`` overrides every selection made
    before it). Inherited paths stay relative to the folder of the file that wrote them."""
    merged = dataclasses.replace(
        base,
        root=own.root,
        per_file_ignores=_rebase_globs(base.per_file_ignores, base.root, own.root),
        extend_per_file_ignores=_rebase_globs(base.extend_per_file_ignores, base.root, own.root),
        exclude=_rebase_patterns(base.exclude, base.root, own.root),
        extend_exclude=_rebase_patterns(base.extend_exclude, base.root, own.root),
    )
    if "select" in keys:
        merged.extend_select, merged.ignore = [], []
    else:
        # ruff applies each file's selectors after those of the file it extends; here they are
        # combined and the longest prefix wins, so an inherited selector this file's ignore (or
        # extend-select) covers is dropped: it would otherwise outrank this file's shorter one
        own_ignore = own.ignore if "ignore" in keys else []
        own_extend = own.extend_select if "extend-select" in keys else []
        merged.select = [s for s in merged.select if not _covered(s, own_ignore)]
        merged.extend_select = [s for s in merged.extend_select if not _covered(s, own_ignore)]
        merged.ignore = [s for s in merged.ignore if not _covered(s, own_extend)]
    for spec in dataclasses.fields(Config):
        key = spec.name.replace("_", "-")
        if key not in keys:
            continue
        value = getattr(own, spec.name)
        if key in ACCUMULATED:
            inherited = getattr(merged, spec.name)
            if isinstance(value, dict):
                combined = {k: list(v) for k, v in inherited.items()}
                for pattern, codes in value.items():
                    combined[pattern] = [*combined.get(pattern, []), *codes]
                value = combined
            else:
                value = [*inherited, *value]
        setattr(merged, spec.name, value)
    return merged


def _covered(selector: str, prefixes: list[str]) -> bool:
    return any(selector.upper().startswith(prefix.upper()) for prefix in prefixes)


def _rebase_globs(table: dict[str, list[str]], base: Path, root: Path) -> dict[str, list[str]]:
    """per-file-ignores written in ``base``, for a configuration rooted at ``root``. A pattern with a
    slash matches a path relative to its folder, or the end of one (``*/pattern``): it becomes those
    two absolute patterns (``base/pattern``, ``base/*/pattern``). One without a slash matches file
    names anywhere and stays."""
    if base == root:
        return dict(table)
    out: dict[str, list[str]] = {}
    prefix = glob.escape(base.as_posix()).rstrip("/")
    for pattern, codes in table.items():
        if "/" in pattern.rstrip("/") and not pattern.startswith("/") and not Path(pattern).is_absolute():
            rebased = [f"{prefix}/{pattern}", f"{prefix}/*/{pattern}"]
        else:
            rebased = [pattern]
        for key in rebased:
            out[key] = [*out.get(key, []), *codes]
    return out


_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def _rebase_patterns(patterns: list[str], base: Path, root: Path) -> list[str]:
    """gitignore-style exclude patterns written in ``base``, rewritten relative to ``root`` (the
    matcher in asynclint.files knows only the root). A pattern without a slash matches names at any
    depth and stays; an anchored one keeps matching the same paths below ``root``, and is dropped
    when it can match nothing there or names ``root`` itself (a folder linted from inside is not
    excluded by a pattern naming it)."""
    if base == root:
        return list(patterns)
    out = []
    for pattern in patterns:
        rebased = _rebase_pattern(pattern, base, root)
        if rebased is not None:
            out.append(rebased)
    return out


def _rebase_pattern(pattern: str, base: Path, root: Path) -> str | None:
    negate, body = ("!", pattern[1:]) if pattern.startswith("!") else ("", pattern)
    if not body.strip() or body.startswith("#"):
        return None
    directory = "/" if body.endswith("/") else ""
    body = body.rstrip("/")
    if "/" not in body:
        return pattern
    try:
        common = Path(os.path.commonpath([base, root]))
    except ValueError:  # different drives: nothing below root can match
        return None
    # the pattern as written from the common folder, then walked down to root segment by segment
    literal = [(_GLOB_SPECIAL.sub(r"\\\1", part), part) for part in base.relative_to(common).parts]
    segments: list[tuple[str, str | None]] = [*literal, *((part, None) for part in body.lstrip("/").split("/"))]
    down = root.relative_to(common).parts
    i = 0
    for part in down:
        if i >= len(segments):
            return None  # the pattern names a folder above root
        text, exact = segments[i]
        if text == "**":
            break  # any depth: what follows may match anywhere below root
        if not (part == exact if exact is not None else fnmatch.fnmatchcase(part, text)):
            return None
        i += 1
    rest = [text for text, _ in segments[i:]]
    if not rest or rest == ["**"]:
        return None  # it names root itself
    return f"{negate}/{'/'.join(rest)}{directory}"


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
