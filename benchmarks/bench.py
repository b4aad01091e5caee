"""Whole-process benchmark: asynclint beside ruff and flake8-async on the same tree.

    python benchmarks/bench.py [TREE] [--runs N] [--tools asynclint,ruff,flake8-async,...]

TREE defaults to this Python's standard library. Each tool runs as its own process, the tools take
turns in every round (so machine noise hits all of them alike), and the table shows the median
wall time, the median CPU time (user + system, the process and the workers it waited for) and the
peak memory of each, and the ratios to ruff's cold run. The tools (``--tools``):

- ``asynclint``: cold, no cache, the default jobs; ``asynclint-j1``: cold, ``--jobs 1``;
- ``asynclint-warm``: with the result cache, nothing changed since the run that filled it;
- ``asynclint-touch``: with the cache, after one file of a copy of the tree changed;
- ``ruff``: ``ruff check`` with the async rules, no cache; ``ruff-warm``: with its cache;
- ``flake8`` / ``flake8+asynclint``: flake8 with E, W, F selected, then with ASL too and the
  plugin's cache off (the plugin's cost; with ASL not selected the plugin does nothing);
  ``flake8+asynclint-warm``: the same with the plugin's per-file cache filled;
- ``flake8-async``: its own runner;
- ``one-file`` / ``one-file-ruff``: one generated 1,000-line module (the editor and pre-commit case).

The caches live in a temporary folder, never in the tree.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

SKIP_DIRS = {"site-packages", "__pycache__", ".git", ".venv", "venv", "build", "dist", "node_modules", ".tox"}


def python_files(tree: Path) -> list[str]:
    out = []
    for folder, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        out.extend(os.path.join(folder, f) for f in sorted(files) if f.endswith(".py"))
    return out


def commands(tree: Path, scratch: Path) -> dict[str, list[str]]:
    bindir = Path(sys.executable).parent
    ruff = shutil.which("ruff", path=str(bindir)) or shutil.which("ruff") or "ruff"
    flake8_async = shutil.which("flake8-async", path=str(bindir)) or shutil.which("flake8-async") or "flake8-async"
    asynclint = [sys.executable, "-m", "asynclint", "--exit-zero", "--output-format", "concise"]
    ruff_args = [ruff, "check", "--isolated", "--preview", "--select", "ASYNC,RUF029,RUF006", "--exit-zero", "--output-format", "concise"]
    one_file = scratch / "one_file.py"
    return {
        "asynclint": [*asynclint, "--no-cache", str(tree)],
        "asynclint-j1": [*asynclint, "--no-cache", "--jobs", "1", str(tree)],
        "asynclint-warm": [*asynclint, str(tree)],
        "asynclint-touch": [*asynclint, str(scratch / "tree")],
        "ruff": [*ruff_args, "--no-cache", str(tree)],
        "ruff-warm": [*ruff_args, "--cache-dir", str(scratch / "ruff-cache"), str(tree)],
        "flake8": [sys.executable, "-m", "flake8", "--select", "E,W,F", "--exit-zero", str(tree)],
        "flake8+asynclint": [sys.executable, "-m", "flake8", "--select", "E,W,F,ASL", "--asynclint-no-cache", "--exit-zero", str(tree)],
        "flake8+asynclint-warm": [sys.executable, "-m", "flake8", "--select", "E,W,F,ASL", "--exit-zero", str(tree)],
        # flake8-async's own runner (the flake8 host would also load every other installed plugin)
        "flake8-async": [flake8_async, *python_files(tree)],
        "one-file": [*asynclint, "--no-cache", str(one_file)],
        "one-file-ruff": [*ruff_args, "--no-cache", str(one_file)],
    }


def _one_file(path: Path) -> None:
    """A 1,000-line module of the kind asynclint reads: handlers, helpers, a few blocking calls."""
    parts = ["import asyncio\nimport json\nimport time\nfrom pathlib import Path\n\nimport requests\n\n"]
    n = 0
    while sum(p.count("\n") for p in parts) < 1000:
        parts.append(
            f"async def handler_{n}(request):\n"
            f"    data = json.loads(request.body)\n"
            f"    total = sum(item['price'] for item in data['items'])\n"
            f"    if total > {n}:\n"
            f"        await asyncio.sleep(0)\n"
            f"    result = {{'total': total, 'n': {n}}}\n"
            f"    return result\n\n\n"
            f"def helper_{n}(values):\n"
            f"    out = []\n"
            f"    for value in values:\n"
            f"        out.append(value * {n})\n"
            f"    return out\n\n\n"
        )
        if n % 20 == 0:
            parts.append(f"async def slow_{n}():\n    time.sleep(1)\n    return requests.get('http://x').json()\n\n\n")
        n += 1
    path.write_text("".join(parts))


def time_once(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, int, int]:
    """(wall s, CPU s, peak MB, exit code, findings) of one run; CPU and memory of the process and
    of the worker processes it waited for."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    # wait4 reaps the process and gives its resource use (with the workers it waited for)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    findings = sum(1 for line in out.splitlines() if b":" in line)
    return elapsed, cpu, usage.ru_maxrss / 1024, proc.returncode, findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", nargs="?", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", default="asynclint,ruff,flake8-async")
    args = parser.parse_args(argv)
    tree = Path(args.tree)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    with tempfile.TemporaryDirectory(prefix="asynclint-bench-") as tmp:
        scratch = Path(tmp)
        all_cmds = commands(tree, scratch)
        unknown = [t for t in tools if t not in all_cmds]
        if unknown:
            parser.error(f"unknown tool(s): {', '.join(unknown)}")
        if "flake8-async" in tools and shutil.which(all_cmds["flake8-async"][0]) is None:
            parser.error("flake8-async is not installed: pip install flake8-async (or leave it out of --tools)")
        env = {**os.environ, "ASYNCLINT_CACHE_DIR": str(scratch / "asynclint-cache")}
        _one_file(scratch / "one_file.py")
        if "asynclint-touch" in tools:
            shutil.copytree(tree, scratch / "tree", ignore=shutil.ignore_patterns(*SKIP_DIRS))
        # fill the caches the warm runs read
        for tool in ("asynclint-warm", "asynclint-touch", "ruff-warm", "flake8+asynclint-warm"):
            if tool in tools:
                subprocess.run(all_cmds[tool], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        touched = next((p for p in sorted((scratch / "tree").rglob("*.py"))), None) if "asynclint-touch" in tools else None
        runs: dict[str, list[tuple[float, float, float]]] = {t: [] for t in tools}
        found: dict[str, int] = {}
        files = len(python_files(tree))
        print(f"tree: {tree} ({files} Python files), {args.runs} runs each, {os.cpu_count()} CPUs", flush=True)
        for round_no in range(args.runs):
            for tool in tools:
                if tool == "asynclint-touch" and touched is not None:
                    with open(touched, "a") as fh:
                        fh.write(f"\n# edit {round_no}\n")
                wall, cpu, peak, code, findings = time_once(all_cmds[tool], env)
                runs[tool].append((wall, cpu, peak))
                found[tool] = findings
                print(f"  round {round_no + 1}: {tool:<17} {wall:8.2f} s wall {cpu:8.2f} s CPU {peak:7.0f} MB"
                      f"  exit {code}  {findings} findings", flush=True)
    base = statistics.median(w for w, _, _ in runs["ruff"]) if "ruff" in runs else None
    base_cpu = statistics.median(c for _, c, _ in runs["ruff"]) if "ruff" in runs else None
    print()
    print(f"{'tool':<17} {'wall s':>8} {'CPU s':>8} {'peak MB':>8} {'x ruff wall':>12} {'x ruff CPU':>11} {'findings':>9}")
    for tool in tools:
        wall = statistics.median(w for w, _, _ in runs[tool])
        cpu = statistics.median(c for _, c, _ in runs[tool])
        peak = max(p for _, _, p in runs[tool])
        ratio = f"{wall / base:12.1f}" if base else "           -"
        ratio_cpu = f"{cpu / base_cpu:11.1f}" if base_cpu else "          -"
        print(f"{tool:<17} {wall:8.2f} {cpu:8.2f} {peak:8.0f} {ratio} {ratio_cpu} {found[tool]:9d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
