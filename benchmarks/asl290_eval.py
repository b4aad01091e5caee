"""Recall and precision of ASL290 on an evaluation set written outside this repository.

Each case is a folder holding a small project with one ``entry.py``; a line of ``entry.py`` that
ends with ``# EXPECT`` must be reported by ASL290, every other line must not. The script lints each
``entry.py`` alone (so the other modules are reached through the project index, as when one file is
named) and prints the misses and the extra findings per case, then the totals.

    python benchmarks/asl290_eval.py CASES_FOLDER [--skip case_23,...]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def expected_lines(entry: Path) -> set[int]:
    return {i for i, line in enumerate(entry.read_text(encoding="utf-8").splitlines(), 1) if line.rstrip().endswith("# EXPECT")}


def reported_lines(entry: Path) -> dict[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "asynclint", "--no-cache", "--select", "ASL290", "--output-format", "json", entry.name],
        cwd=entry.parent,
        capture_output=True,
        text=True,
    )
    if proc.returncode not in (0, 1) or "Traceback" in proc.stderr:
        raise SystemExit(f"asynclint failed on {entry}:\n{proc.stderr[-2000:]}")
    return {f["line"]: f["message"] for f in json.loads(proc.stdout)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", type=Path)
    parser.add_argument("--skip", default="", help="comma-separated case name prefixes to leave out")
    args = parser.parse_args(argv)
    skip = tuple(s for s in args.skip.split(",") if s)
    tp = fp = fn = 0
    for case in sorted(p for p in args.cases.iterdir() if p.is_dir()):
        if skip and case.name.startswith(skip):
            continue
        entries = list(case.rglob("entry.py"))
        if len(entries) != 1:
            raise SystemExit(f"{case}: expected one entry.py, found {len(entries)}")
        entry = entries[0]
        want = expected_lines(entry)
        got = reported_lines(entry)
        hits = want & set(got)
        tp += len(hits)
        for line in sorted(want - set(got)):
            fn += 1
            print(f"{case.name}: missed line {line}: {entry.read_text().splitlines()[line - 1].strip()}")
        for line in sorted(set(got) - want):
            fp += 1
            print(f"{case.name}: extra line {line}: {got[line]}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(f"expected {tp + fn}, reported {tp + fp}: tp {tp}, fp {fp}, fn {fn}; precision {precision:.2f}, recall {recall:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
