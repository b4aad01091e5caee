"""SARIF 2.1.0 output for GitHub code scanning: the tool's rules, results with regions, fixes."""
from __future__ import annotations

import inspect
import os
import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from asynclint import __version__, registry
from asynclint.docs import anchor
from asynclint.links import repository_url, rules_doc_url
from asynclint.rule import Finding, Rule

if TYPE_CHECKING:
    from asynclint.engine import Result
    from asynclint.output import Report

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"


def _sections(rule: type[Rule]) -> tuple[str, dict[str, str]]:
    """A rule docstring's first paragraph and its ``## Title`` sections."""
    doc = inspect.cleandoc(rule.__doc__ or "")
    what, _, rest = doc.partition("\n\n")
    sections: dict[str, str] = {}
    for chunk in re.split(r"^## ", rest, flags=re.MULTILINE):
        title, _, body = chunk.partition("\n")
        if title.strip():
            sections[title.strip()] = body.strip()
    return " ".join(what.split()), sections


def rule_descriptor(rule: type[Rule]) -> dict[str, Any]:
    what, sections = _sections(rule)
    why = " ".join(sections.get("Why is this bad?", "").split())
    fix = rule.fix_safety.value if rule.fix_safety else "none"
    markdown = inspect.cleandoc(rule.__doc__ or "")
    return {
        "id": rule.code,
        "name": rule.slug,
        "shortDescription": {"text": what},
        "fullDescription": {"text": f"{what} {why}".strip()},
        "help": {
            "text": re.sub(r"^## ", "", markdown, flags=re.MULTILINE) + f"\n\nFix: {fix}.",
            "markdown": f"{markdown}\n\nFix: {fix}.",
        },
        "helpUri": f"{rules_doc_url()}#{anchor(rule)}",
        "defaultConfiguration": {"level": "error"},
        "properties": {"fix": fix},
    }


def _syntax_error_descriptor() -> dict[str, Any]:
    text = "The file cannot be decoded or parsed, so no other rule can check it."
    return {
        "id": registry.SYNTAX_ERROR_CODE,
        "name": "syntax-error",
        "shortDescription": {"text": "Checks that a file can be decoded and parsed."},
        "fullDescription": {"text": text},
        "help": {"text": text, "markdown": text},
        "helpUri": f"{rules_doc_url()}#asynclint-rules",
        "defaultConfiguration": {"level": "error"},
        "properties": {"fix": "none"},
    }


def artifact_location(path: str) -> dict[str, str]:
    """A relative URI (forward slashes, percent-encoded) against ``%SRCROOT%`` (the working folder)
    for files inside it; an absolute ``file:`` URI otherwise."""
    pure = Path(path)
    if pure.is_absolute():
        try:
            pure = pure.relative_to(Path.cwd())
        except ValueError:
            return {"uri": pure.as_uri()}
    posix = PurePosixPath(pure.as_posix())
    if posix.parts and posix.parts[0] == "..":
        return {"uri": Path(path).resolve().as_uri()}
    # the name's bytes, percent-encoded: also right for a name that is not valid UTF-8
    return {"uri": quote(os.fsencode(posix.as_posix()), safe="/"), "uriBaseId": SRCROOT}


def _region(line: int, col: int, end_line: int, end_col: int) -> dict[str, int]:
    return {"startLine": line, "startColumn": col, "endLine": end_line, "endColumn": end_col}


def _fix(finding: Finding, result: Result | None, location: dict[str, str]) -> dict[str, Any]:
    from asynclint.output import text_edits

    assert finding.fix is not None
    return {
        "description": {"text": f"{finding.fix.title} ({finding.fix.safety.value} fix)"},
        "artifactChanges": [
            {
                "artifactLocation": location,
                "replacements": [
                    {
                        "deletedRegion": _region(e.line, e.col, e.end_line, e.end_col),
                        "insertedContent": {"text": e.content},
                    }
                    for e in text_edits(result, finding)
                ],
            }
        ],
    }


def to_sarif(report: Report) -> dict[str, Any]:
    """The SARIF log of one run: every registered rule, one result per finding."""
    descriptors = [_syntax_error_descriptor(), *(rule_descriptor(r) for r in registry.all_rules())]
    index = {d["id"]: i for i, d in enumerate(descriptors)}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    from asynclint.output import printable

    errors = [(path, message) for path, message in report.unreadable]
    errors += [(r.path, r.error) for r in report.results if r.error is not None]
    for path, message in errors:
        notifications.append(
            {
                "level": "error",
                "message": {"text": printable(f"{path}: {message}")},
                "locations": [{"physicalLocation": {"artifactLocation": artifact_location(path)}}],
            }
        )
    for result in report.results:
        for finding in result.findings:
            location = artifact_location(finding.path)
            item: dict[str, Any] = {
                "ruleId": finding.code,
                "level": "error",
                "message": {"text": printable(finding.message)},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": location,
                            "region": _region(finding.line, finding.col, finding.end_line, finding.end_col),
                        }
                    }
                ],
            }
            if finding.code in index:
                item["ruleIndex"] = index[finding.code]
            if finding.fix is not None:
                item["fixes"] = [_fix(finding, result, location)]
            results.append(item)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "asynclint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": repository_url(),
                        "rules": descriptors,
                    }
                },
                "invocations": [
                    {"executionSuccessful": not notifications, "toolExecutionNotifications": notifications}
                ],
                "originalUriBaseIds": {SRCROOT: {"uri": Path.cwd().as_uri().rstrip("/") + "/"}},
                # positions count characters, as Python strings do, not UTF-16 code units
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
