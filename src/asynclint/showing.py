"""What ``--show-settings``, ``--show-files`` and ``--show-fixes`` print, and ``--quiet``'s trimming."""
from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Mapping

from asynclint import registry
from asynclint.config import Config
from asynclint.model import Finding, Result, Safety
from asynclint.output import printable


def settings(config: Config, source: Path | None) -> str:
    """The resolved configuration, one ``key = value`` line per key (TOML), after the file it came
    from (``defaults`` when none) and the rules it enables."""
    lines = [
        f"Settings path: {source.resolve() if source is not None else 'defaults'}",
        f"Project root: {config.root}",
        f"Enabled rules: {', '.join(registry.enabled_codes(config))}",
    ]
    for spec in dataclasses.fields(config):
        if spec.name == "root":
            continue
        lines.append(f"{spec.name.replace('_', '-')} = {_toml(getattr(config, spec.name))}")
    return printable("\n".join(lines) + "\n")


def _toml(value: object) -> str:
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def files(paths: Iterable[Path | str]) -> str:
    return printable("".join(f"{name}\n" for name in sorted({str(p) for p in paths})))


def fix_table(title: str, counts: Mapping[str, Counter[tuple[str, str]]]) -> str:
    """ruff's ``--show-fixes`` table: per file, how many fixes of each rule."""
    lines = [f"{title}:"]
    for path, per_rule in counts.items():
        if not +per_rule:
            continue
        lines.append(f"- {path}:")
        width = max(len(str(n)) for n in per_rule.values())
        for (code, slug), n in sorted(per_rule.items()):
            if n > 0:
                lines.append(f"    {n:>{width}} × {code} ({slug})")
    return printable("\n".join(lines) + "\n")


#: ANSI styles and OSC 8 links (the terminal view's colour)
_ANSI = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;[^\x1b\a]*(?:\x1b\\|\a)")
#: the terminal view's summary by rule (asynclint.terminal), also a summary that --quiet leaves out
_BY_RULE = re.compile(r"^(?:\x1b\[[0-9;]*m)*Findings by rule:(?:\x1b\[[0-9;]*m)*\n", re.MULTILINE)


def arrange(text: str, summary: str, tables: list[str], quiet: bool) -> str:
    """The rendered text report with the fix tables between the findings and the summary line
    (where ruff puts them), and without the summary (nor the terminal view's summary by rule) when
    ``quiet``."""
    cut = text.rfind("\n", 0, len(text) - 1) + 1 if text.endswith("\n") else len(text)
    body, last = text[:cut], text[cut:]
    if not summary or _ANSI.sub("", last) != summary + "\n":
        body, last = text, ""
    if quiet:
        last = ""
        by_rule = list(_BY_RULE.finditer(body))
        if by_rule:
            body = body[: by_rule[-1].start()]
    if not tables:
        return body + last
    # a blank line on each side of the tables, as ruff leaves them
    body = body.rstrip("\n") + "\n" if body.strip() else ""
    return "\n".join([*([body] if body else []), *tables, *([last] if last else [])])


#: per file (as reported), the number of fixes of each (code, slug)
FixCounts = dict[str, Counter[tuple[str, str]]]


def fixable(results: Iterable[Result], unsafe: bool) -> FixCounts:
    """The findings that --fix (with --unsafe-fixes when ``unsafe``) would fix, per file."""
    return {r.path: Counter((f.code, f.slug) for f in r.findings if _fixable(f, unsafe)) for r in results}


def _fixable(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and (unsafe or finding.fix.safety is Safety.SAFE)


def fix_tables(results: list[Result], unsafe: bool, before: FixCounts | None) -> list[str]:
    """``--show-fixes``: with ``before`` (a --fix run: what was fixable before it), the fixes that
    went away per file; otherwise the fixes --fix would apply, and the unsafe ones it would apply
    with --unsafe-fixes."""
    if before is not None:
        after = fixable(results, unsafe)
        applied = {path: counts - after.get(path, Counter()) for path, counts in before.items()}
        n = sum(sum(c.values()) for c in applied.values())
        return [fix_table(f"Fixed {n} error{'s' if n != 1 else ''}", applied)] if n else []
    tables = []
    now = fixable(results, unsafe)
    n = sum(sum(c.values()) for c in now.values())
    if n:
        tables.append(fix_table(f"{n} fixable with --fix{' --unsafe-fixes' if unsafe else ''}", now))
    if not unsafe:
        more = {path: fixable([r], True)[path] - now.get(path, Counter()) for r in results for path in [r.path]}
        m = sum(sum(c.values()) for c in more.values())
        if m:
            tables.append(fix_table(f"{m} more with --fix --unsafe-fixes", more))
    return tables
