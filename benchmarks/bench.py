"""Whole-process benchmark: asynclint beside ruff and flake8-async on the same tree.

    python benchmarks/bench.py [TREE] [--runs N] [--tools asynclint,ruff,flake8-async]

TREE defaults to this Python's standard library. Each tool runs as its own process, the tools take
turns in every round (so machine noise hits all of them alike), and the table shows the median
wall time of each and its ratio to ruff's. Nothing is cached: asynclint and ruff run with
--no-cache; flake8-async has no cache.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

SKIP_DIRS = {"site-packages", "__pycache__", ".git", ".venv", "venv", "build", "dist", "node_modules", ".tox"}


def python_files(tree: Path) -> list[str]:
    out = []
    for folder, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        out.extend(os.path.join(folder, f) for f in sorted(files) if f.endswith(".py"))
    return out


def commands(tree: Path) -> dict[str, list[str]]:
    bindir = Path(sys.executable).parent
    ruff = shutil.which("ruff", path=str(bindir)) or shutil.which("ruff") or "ruff"
    flake8_async = shutil.which("flake8-async", path=str(bindir)) or shutil.which("flake8-async") or "flake8-async"
    return {
        "asynclint": [sys.executable, "-m", "asynclint", "--no-cache", "--exit-zero", "--output-format", "concise", str(tree)],
        "ruff": [ruff, "check", "--no-cache", "--preview", "--select", "ASYNC,RUF029,RUF006", "--exit-zero",
                 "--output-format", "concise", str(tree)],
        # flake8-async's own runner (the flake8 host would also load every other installed plugin)
        "flake8-async": [flake8_async, *python_files(tree)],
    }


def time_once(cmd: list[str]) -> tuple[float, int, int]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    findings = sum(1 for line in proc.stdout.splitlines() if b":" in line)
    return elapsed, proc.returncode, findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", nargs="?", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", default="asynclint,ruff,flake8-async")
    args = parser.parse_args(argv)
    tree = Path(args.tree)
    all_cmds = commands(tree)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t not in all_cmds]
    if unknown:
        parser.error(f"unknown tool(s): {', '.join(unknown)}")
    times: dict[str, list[float]] = {t: [] for t in tools}
    found: dict[str, int] = {}
    files = len(python_files(tree))
    print(f"tree: {tree} ({files} Python files), {args.runs} runs each, {os.cpu_count()} CPUs", flush=True)
    for round_no in range(args.runs):
        for tool in tools:
            elapsed, code, findings = time_once(all_cmds[tool])
            times[tool].append(elapsed)
            found[tool] = findings
            print(f"  round {round_no + 1}: {tool:<13} {elapsed:8.2f} s  exit {code}  {findings} findings", flush=True)
    base = statistics.median(times["ruff"]) if "ruff" in times else None
    print()
    print(f"{'tool':<13} {'median s':>9} {'min s':>8} {'x ruff':>8} {'findings':>9}")
    for tool in tools:
        median = statistics.median(times[tool])
        ratio = f"{median / base:8.1f}" if base else "       -"
        print(f"{tool:<13} {median:9.2f} {min(times[tool]):8.2f} {ratio} {found[tool]:9d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
