"""The rule registry: discovers ``asynclint.rules``, maps codes and slugs, selects by code prefix."""
from __future__ import annotations

import fnmatch
import functools
import importlib
import pkgutil
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Iterable

from asynclint.config import Config, ConfigError

if TYPE_CHECKING:
    from asynclint.rule import Rule

#: pseudo-rule for files that cannot be decoded or parsed
SYNTAX_ERROR_CODE = "ASL001"

#: (code, slug, on by default) of every rule, so that selecting codes and a run the result cache
#: answers need not import the rule classes (and libcst). tests/test_rules_meta.py checks that it
#: matches the classes.
RULE_TABLE: tuple[tuple[str, str, bool], ...] = (
    ("ASL100", "async-without-await", True),
    ("ASL101", "unawaited-coroutine", True),
    ("ASL102", "dangling-task", False),
    ("ASL103", "nested-event-loop", True),
    ("ASL104", "async-never-suspends", False),
    ("ASL200", "blocking-sleep", True),
    ("ASL210", "blocking-http", True),
    ("ASL220", "blocking-subprocess", True),
    ("ASL230", "blocking-file-io", True),
    ("ASL231", "blocking-fs-call", True),
    ("ASL240", "blocking-input", True),
    ("ASL250", "blocking-sync-primitive", True),
    ("ASL260", "blocking-client", True),
    ("ASL290", "transitive-blocking-call", True),
    ("ASL300", "shared-file-write", True),
    ("ASL301", "shared-file-handle", True),
    ("ASL302", "shared-state-race", True),
)


@functools.lru_cache(maxsize=None)
def all_rules() -> tuple[type[Rule], ...]:
    """Every rule class, sorted by code. Each module of ``asynclint.rules`` holds one rule."""
    import asynclint.rules as package
    from asynclint.rule import Rule

    found: list[type[Rule]] = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value.code and value.__module__ == module.__name__:
                found.append(value)
    return tuple(sorted(found, key=lambda r: r.code))


def rules_by_code() -> dict[str, type[Rule]]:
    return {r.code: r for r in all_rules()}


def all_codes() -> list[str]:
    return [SYNTAX_ERROR_CODE, *(code for code, _, _ in RULE_TABLE)]


def lookup(code_or_slug: str) -> type[Rule] | None:
    key = code_or_slug.strip()
    for rule in all_rules():
        if rule.code == key.upper() or rule.slug == key.lower():
            return rule
    return None


def validate_codes(codes: Iterable[str], option: str) -> None:
    """A selector must be a prefix of at least one known code. The error suggests the code of a
    slug (``blocking-sleep``: ASL200) or a code one typo away (``ASL2000``)."""
    known = all_codes()
    for code in codes:
        if not any(k.startswith(code.upper()) for k in known):
            raise ConfigError(f"{option}: unknown rule code or prefix {code!r}{_suggestion(code)}")


def _suggestion(code: str) -> str:
    by_slug = {slug: c for c, slug, _ in RULE_TABLE}
    by_slug["syntax-error"] = SYNTAX_ERROR_CODE
    key = code.strip().lower().replace("_", "-")
    if key in by_slug:
        return f" (did you mean {by_slug[key]!r}?)"
    # a slug one typo away (``blocking-slep``): its code, named with the slug it was taken for
    slugs = [slug for slug in by_slug if _one_edit(key, slug)]
    if len(slugs) == 1:
        return f" (did you mean {by_slug[slugs[0]]!r}, {slugs[0]}?)"
    # one typo from exactly one code (``ASL2000``, ``ASL20O``); a short prefix (``ASL9``) is no typo
    typed = code.strip().upper()
    close = [known for known in all_codes() if _one_edit(typed, known)]
    return f" (did you mean {close[0]!r}?)" if len(close) == 1 else ""


def _one_edit(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by one inserted, deleted or replaced character."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _matches(code: str, prefixes: Iterable[str]) -> int:
    """Length of the longest prefix of ``code`` in ``prefixes`` (0: none). Longer wins, like ruff."""
    return max((len(p) for p in prefixes if code.startswith(p.upper())), default=0)


@functools.lru_cache(maxsize=None)
def off_by_default() -> frozenset[str]:
    """Codes of the rules that are off unless selected by their full code (like ruff's preview rules)."""
    return frozenset(code for code, _, default in RULE_TABLE if not default)


def is_enabled(code: str, config: Config) -> bool:
    selected = _matches(code, [*config.select, *config.extend_select])
    if code in off_by_default() and selected < len(code):
        return False  # a prefix (``ASL``, ``ASL1``) selects only the default rules
    ignored = _matches(code, config.ignore)
    return selected > 0 and selected >= ignored if ignored else selected > 0


def enabled_codes(config: Config) -> list[str]:
    """The codes of the rules ``config`` enables (the classes are not imported)."""
    return [code for code, _, _ in RULE_TABLE if is_enabled(code, config)]


def enabled_rules(config: Config) -> list[type[Rule]]:
    return [r for r in all_rules() if is_enabled(r.code, config)]


def per_file_ignored(path: str, config: Config) -> list[str]:
    """Codes ignored for ``path`` by ``per-file-ignores`` and ``extend-per-file-ignores`` (glob
    patterns relative to the config; absolute ones, inherited through ``extend``, against the
    absolute path), and by ``ignore-in-tests`` when ``path`` is test code (``test-files``)."""
    tables = [t for t in (config.per_file_ignores, config.extend_per_file_ignores) if t]
    if not tables and not config.ignore_in_tests:
        return []
    pure = PurePath(path)
    relative: PurePath | None = None
    try:
        relative = PurePath(Path(path).resolve().relative_to(config.root))
    except (ValueError, OSError):
        relative = None if pure.is_absolute() else pure
    out: list[str] = []
    if config.ignore_in_tests and is_test_code(pure.name, relative, config):
        out.extend(config.ignore_in_tests)
    if not tables:
        return out
    candidates = {pure.as_posix(), pure.name}
    if relative is not None:
        candidates.add(relative.as_posix())
    absolute: str | None = None
    for table in tables:
        for pattern, codes in table.items():
            if pattern.startswith("/") or PurePath(pattern).is_absolute():
                if absolute is None:
                    try:
                        absolute = Path(path).resolve().as_posix()
                    except (OSError, RuntimeError):
                        absolute = Path(path).absolute().as_posix()
                if fnmatch.fnmatch(absolute, pattern):
                    out.extend(codes)
            elif any(fnmatch.fnmatch(c, pattern) or fnmatch.fnmatch(c, f"*/{pattern}") for c in candidates):
                out.extend(codes)
    return out


def is_test_code(name: str, relative: PurePath | None, config: Config) -> bool:
    """The file name, or a folder of its path under the project root, matches ``test-files``
    (folders above the project root never count: a checkout under ``/tmp/test_x/`` is not a test)."""
    parts = [name, *(relative.parts[:-1] if relative is not None else ())]
    return any(fnmatch.fnmatchcase(part, pattern) for part in parts for pattern in config.test_files)


def check_config(config: Config) -> None:
    validate_codes(config.select, "select")
    validate_codes(config.extend_select, "extend-select")
    validate_codes(config.ignore, "ignore")
    for codes in config.per_file_ignores.values():
        validate_codes(codes, "per-file-ignores")
    for codes in config.extend_per_file_ignores.values():
        validate_codes(codes, "extend-per-file-ignores")
    validate_codes(config.ignore_in_tests, "ignore-in-tests")
