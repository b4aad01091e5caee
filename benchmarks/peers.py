"""Coverage against the peers' own test suites: recall and precision of asynclint on the cases
flake8-async and ruff expect, for the codes that map onto asynclint's.

    python benchmarks/peers.py fetch            # download the peers' sources into the cache
    python benchmarks/peers.py score [-v]       # score (fetches first when needed)

flake8-async: the eval files of its sdist (``tests/eval_files``), each with its enabled codes
(the file name, or ``# ARG --enable=...``) and its expected errors (``# ASYNC230: col, ...`` or
``# error: ...`` comments). ruff: the ``flake8_async`` fixtures of its sdist, expected errors
from its insta snapshots. Each expected (file, line, code) is mapped to an asynclint code; a
finding of asynclint on that line with that code is a hit. asynclint's findings of a mapped code
in a file that enables the peer code, on a line the peer does not expect, count against precision.
Cases where asynclint disagrees with the peer on purpose are listed in ``DISPUTED`` with the
reason, and left out of both counts (they are printed).

The downloads live in a cache outside git (``$ASYNCLINT_PEERS_CACHE``, default
``~/.cache/asynclint-peers``); nothing from them is committed.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

FLAKE8_ASYNC = "26.8.1"
RUFF = "0.17.6"
CACHE = Path(os.environ.get("ASYNCLINT_PEERS_CACHE", Path.home() / ".cache" / "asynclint-peers"))

#: peer code -> the asynclint codes that report it (either counts)
MAPPING: dict[str, tuple[str, ...]] = {
    "ASYNC251": ("ASL200",),
    "ASYNC210": ("ASL210",),
    "ASYNC211": ("ASL210",),
    "ASYNC212": ("ASL210",),
    "ASYNC220": ("ASL220",),
    "ASYNC221": ("ASL220",),
    "ASYNC222": ("ASL220",),
    # ASL230 findings are told apart by their message: opening a file vs a method of a file object
    "ASYNC230": ("ASL230/open",),
    "ASYNC231": ("ASL230/open",),
    "ASYNC232": ("ASL230/method",),
    # file-system metadata and directory calls have their own code
    "ASYNC240": ("ASL231",),
    "ASYNC250": ("ASL240",),
    # an async function that never awaits: ASL100 when acting on it is clearly worth it, ASL104
    # (not on by default) for the rest; the score selects both
    "ASYNC124": ("ASL100", "ASL104"),
    "RUF029": ("ASL100", "ASL104"),
    "ASYNC300": ("ASL102",),
    "RUF006": ("ASL102",),
    "ASYNC105": ("ASL101",),
}

#: (peer, file, line) -> why asynclint disagrees with the peer's expectation on purpose
DISPUTED: dict[tuple[str, str, int], str] = {}


def _dispute(peer: str, files: tuple[str, ...], lines: tuple[int, ...], why: str, offsets: tuple[int, ...] = (0,)) -> None:
    for file, offset in zip(files, offsets * len(files) if len(offsets) == 1 else offsets):
        for line in lines:
            DISPUTED[(peer, file, line + offset)] = why


_F = "flake8-async"
_232 = ("async232.py", "async232_asyncio.py")
# -- expected by the peer, not reported on purpose
_dispute(_F, _232, (16, 17), "`f.anything()` is no method of a file object; asynclint reports the file's real I/O methods", (0, 1))
_dispute(_F, _232, (117, 126, 132, 133), "the file is opened in this coroutine: asynclint reports its `open()` once (ASL230), not every method call on it", (0, 1))
_dispute(_F, _232, (204, 206), "`f` was rebound to an unknown call result / to 7 before `f.read()`: not known to be a file (the peer lists it under known unhandled cases)", (0, 1))
_dispute(_F, ("async240.py",), (8, 9, 13, 28), "`normpath`/`relpath` compute a string; they ask no file system")
_dispute(_F, ("async240.py",), (12, 14), "a private helper of `os.path` (`_path_normpath`, `_joinrealpath`); the public calls are reported")
_dispute(_F, ("async240.py",), (30,), "the call is awaited: a sync function there is a TypeError, and asynclint never reports awaited calls")
_dispute(_F, ("async210.py",), (50, 51), "`request`/`urlopen` are bound nowhere in the file: asynclint guesses only well-known module names (`urllib.request.urlopen` on line 49 is reported)")
_dispute(_F, ("async212.py",), tuple(range(104, 123, 2)), "`c.anything()` is no method of a urllib3 pool; asynclint reports `request`/`urlopen`/`request_encode_*`")
_dispute(_F, ("async105.py",), (96,), "`k = trio.open_file(par)` is awaited two lines later (`await k`): the coroutine is not lost")
_dispute(_F, ("async124.py",), (38,), "an async generator (`yield`): its callers use `async for`, so it cannot become a plain function")
_dispute(_F, ("async300.py",), (60,), "a generator expression that is never iterated: `create_task` is never called, no task exists")
_dispute(_F, ("async300.py",), (67,), "a Task is not a context manager: `with create_task(...)` raises TypeError, the task is not silently lost")
_R = "ruff"
_dispute(_R, ("ASYNC240.py",), (67,), "`os.path.abspath` joins the path to the current directory (`os.getcwd()`); it waits for no disk")
_dispute(_R, ("RUF029.py",), (42,), "an async generator (`yield`): its callers use `async for`, so it cannot become a plain function")
_dispute(_R, ("ASYNC105.py",), (43,), "`trio.sleep_until` is a coroutine function like `trio.sleep` (ruff's table leaves it out)")
# -- reported by asynclint, not expected by the peer
_dispute(_F, ("async211.py",), (19, 20, 22, 23, 24, 25, 26), "`foo` is a `urllib3.PoolManager`: every `request()` on it is an HTTP call, whatever its arguments (the peer guesses from a literal verb)")
_dispute(_F, ("async212.py",), (98,), "`Client` is `httpx.Client` imported by name; the peer does not follow the import (it lists the case as not implemented)")
_dispute(_F, _232, (70,), "`None | TextIOWrapper | None` is still a file or None", (0, 1))
_dispute(_F, _232, (255,), "`self.x` is the file `open()` made in `__init__` (the peer's comment: should error)", (0, 1))
_dispute(_F, ("async23x.py",), (19, 20, 33), "`open()` runs on the event loop before `trio.wrap_file` gets the file; `await trio.open_file(...)` is the non-blocking form")
_dispute(_F, ("async124.py",), (130, 136), "ASL104 (the broad check, off by default) reports methods too; ASL100, the default, does not")
_dispute(_F, ("async124.py",), (147,), "`custom_disabled_decorator` is exempt only through the peer's `--no-checkpoint-warning-decorator` option (asynclint's is `async-decorators`)")
_dispute(_F, ("async300.py",), (28,), "the task is stored in `k`, which is never read: it is as unreferenced as a discarded one")
_dispute(_F, ("async300.py",), (73,), "`create_task` imported inside the function is still `asyncio.create_task` (the peer does not track function-local imports)")


@dataclass(frozen=True)
class Case:
    peer: str
    file: str
    line: int
    code: str  # the peer's


def fetch() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    for name, version in (("flake8-async", FLAKE8_ASYNC), ("ruff", RUFF)):
        folder = CACHE / f"{name.replace('-', '_')}-{version}"
        if folder.is_dir():
            continue
        archive = CACHE / f"{name.replace('-', '_')}-{version}.tar.gz"
        if not archive.exists():
            # the simple index (PEP 503) is what pip reads too
            with urllib.request.urlopen(f"https://pypi.org/simple/{name}/", timeout=60) as response:
                page = response.read().decode()
            wanted = archive.name.lower()
            url = next(
                (href for href in re.findall(r'href="([^"]+)"', page) if href.split("#")[0].rsplit("/", 1)[-1].lower() == wanted),
                None,
            )
            if url is None:
                raise SystemExit(f"no sdist {archive.name} on pypi.org/simple/{name}/")
            print(f"downloading {url.split('#')[0]}", file=sys.stderr)
            urllib.request.urlretrieve(urllib.parse.urljoin(f"https://pypi.org/simple/{name}/", url), archive)
        with tarfile.open(archive) as tar:
            members = [
                m
                for m in tar.getmembers()
                if "/tests/" in m.name or "/resources/test/fixtures/flake8_async/" in m.name
                or "/rules/flake8_async/" in m.name or "/resources/test/fixtures/ruff/" in m.name
                or "/rules/ruff/snapshots/" in m.name
            ]
            tar.extractall(CACHE, members=members, filter="data")
        print(f"{name} {version}: {folder}", file=sys.stderr)


# -- flake8-async -------------------------------------------------------------------------------

_ANNOTATION = re.compile(r"(error|ASYNC\d\d\d)(_\w*)?:([^#]*)(?=#|$)")


def flake8_async_cases() -> tuple[list[Case], dict[str, set[str]]]:
    """(expected cases of mapped codes, file -> its enabled mapped peer codes)."""
    folder = CACHE / f"flake8_async-{FLAKE8_ASYNC}" / "tests" / "eval_files"
    cases: list[Case] = []
    enabled: dict[str, set[str]] = {}
    for path in sorted(folder.glob("*.py")):
        text = path.read_text()
        stem = path.stem.split("_", 1)[0].upper()
        codes = stem if re.fullmatch(r"ASYNC\d\d\d", stem) else ""
        for line in text.splitlines():
            found = re.search(r"(?<=ARG )--enable=(\S*)", line)
            if found:
                codes = found.group(1)
        on = {c for c in codes.split(",") if c} if codes else set()
        # `--enable=ASYNC23` style prefixes
        mapped_on = {peer for peer in MAPPING if peer.startswith("ASYNC") and any(peer.startswith(c) for c in on)}
        if not mapped_on:
            continue
        enabled[path.name] = mapped_on
        for lineno, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#") or "#" not in stripped:
                continue
            for code, _alt, _args in _ANNOTATION.findall(stripped):
                code = stem if code == "error" else code
                if code in mapped_on:
                    cases.append(Case("flake8-async", path.name, lineno, code))
    return cases, enabled


# -- ruff ---------------------------------------------------------------------------------------

_SNAP_LOCATION = re.compile(r"-->\s*(\S+?\.pyi?):(\d+):(\d+)")
_SNAP_OLD = re.compile(r"^(\S+?\.pyi?):(\d+):(\d+): (\w+\d+)", re.M)
_SNAP_CODE = re.compile(r"^(?:error|warning)?\[?(ASYNC\d{3}|RUF\d{3})\]?", re.M)


#: fixtures from a time when ruff's ASYNC220/ASYNC222 meant other checks (ruff 0.17.6 reports
#: nothing on them): their snapshots expect what those codes no longer mean
STALE_RUFF_FIXTURES = frozenset({"ASYNC220.py", "ASYNC222.py"})


def ruff_cases() -> tuple[list[Case], dict[str, set[str]], Path]:
    """ruff's fixtures and insta snapshots, copied outside this repository into
    ``$ASYNCLINT_PEERS_CACHE/ruff-fixtures/{fixtures,snapshots}`` (ruff's sdist ships neither; they
    come from the ruff repository at the commit the copy names)."""
    root = CACHE / "ruff-fixtures"
    cases: set[Case] = set()
    enabled: dict[str, set[str]] = defaultdict(set)
    for snap in sorted((root / "snapshots").glob("*.snap")):
        found = re.search(r"__tests__([A-Za-z0-9-]+)_(\w+?\.pyi?)\.snap$", snap.name)
        if not found or "preview" in snap.name:
            continue
        fixture = found.group(2)
        if fixture in STALE_RUFF_FIXTURES:
            continue
        named = found.group(1) if re.fullmatch(r"(ASYNC|RUF)\d{3}", found.group(1)) else None
        stem = Path(fixture).stem.upper()
        if named is None and re.fullmatch(r"(ASYNC|RUF)\d{3}", stem):
            named = stem
        body = snap.read_text().split("---", 2)[-1]
        seen: set[str] = set()
        for block in re.split(r"\n(?=\S)", body):
            head = _SNAP_CODE.search(block)
            where = _SNAP_LOCATION.search(block)
            if head and where:
                seen.add(head.group(1))
                cases.add(Case("ruff", where.group(1), int(where.group(2)), head.group(1)))
        for file, line, _col, code in _SNAP_OLD.findall(body):
            seen.add(code)
            cases.add(Case("ruff", file, int(line), code))
        for code in seen | ({named} if named else set()):
            if code in MAPPING:
                enabled[fixture].add(code)
    kept = [c for c in cases if c.code in MAPPING]
    return sorted(kept, key=lambda c: (c.file, c.line, c.code)), dict(enabled), root / "fixtures"


# -- scoring ------------------------------------------------------------------------------------


def lint(paths: list[Path], codes: set[str]) -> dict[tuple[str, int], set[str]]:
    """(file name, line) -> asynclint codes found there."""
    out: dict[tuple[str, int], set[str]] = defaultdict(set)
    if not paths:
        return out
    proc = subprocess.run(
        [sys.executable, "-m", "asynclint", "--no-cache", "--select", ",".join(sorted(codes)),
         "--output-format", "json", "--exit-zero", *map(str, paths)],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"asynclint failed: {proc.stderr}")
    for finding in json.loads(proc.stdout):
        code = finding["code"]
        if code == "ASL230":
            # which peer code the finding stands for: a file method (ASYNC232) or opening a file
            # and one-shot file I/O (ASYNC230/231)
            code = "ASL230/method" if "or an async file" in finding["message"] else "ASL230/open"
        out[(Path(finding["path"]).name, finding["line"])].add(code)
    return out


def score(peer: str, cases: list[Case], enabled: dict[str, set[str]], paths: dict[str, Path], verbose: bool) -> dict[str, list[int]]:
    ours_codes = {code.split("/")[0] for peer_codes in enabled.values() for p in peer_codes for code in MAPPING[p]}
    found = lint(sorted(set(paths.values())), ours_codes)
    expected: dict[tuple[str, int], set[str]] = defaultdict(set)
    for case in cases:
        expected[(case.file, case.line)].add(case.code)
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # hits, misses, extra
    disputed: list[str] = []
    for (file, line), codes in sorted(expected.items()):
        ours = found.get((file, line), set())
        for code in sorted(codes):
            why = DISPUTED.get((peer, file, line))
            if why:
                disputed.append(f"  {file}:{line} {code}: {why}")
                continue
            hit = bool(ours & set(MAPPING[code]))
            table[code][0 if hit else 1] += 1
            if verbose and not hit:
                print(f"  missed {peer} {file}:{line} {code}")
    for (file, line), codes in sorted(found.items()):
        if file not in enabled:
            continue
        allowed = {ours for p in enabled[file] for ours in MAPPING[p]}
        theirs = expected.get((file, line), set())
        for code in sorted(codes & allowed):
            if any(code in MAPPING[t] for t in theirs):
                continue
            if DISPUTED.get((peer, file, line)):
                continue
            peer_code = next(p for p in sorted(enabled[file]) if code in MAPPING[p])
            table[peer_code][2] += 1
            if verbose:
                print(f"  extra  {peer} {file}:{line} {code} (no {'/'.join(sorted(p for p in enabled[file] if code in MAPPING[p]))} expected)")
    if disputed:
        print(f"{peer}: disputed expectations (left out):")
        print("\n".join(disputed))
    return table


def report(peer: str, table: dict[str, list[int]]) -> tuple[int, int, int]:
    print(f"\n{peer}: per peer code (hits / expected, extra findings)")
    print(f"{'code':10} {'ours':14} {'hits':>5} {'miss':>5} {'extra':>5} {'recall':>7} {'prec':>6}")
    totals = [0, 0, 0]
    for code in sorted(table):
        hits, misses, extra = table[code]
        totals = [totals[0] + hits, totals[1] + misses, totals[2] + extra]
        recall = hits / (hits + misses) if hits + misses else float("nan")
        precision = hits / (hits + extra) if hits + extra else float("nan")
        print(f"{code:10} {'/'.join(MAPPING[code]):14} {hits:5} {misses:5} {extra:5} {recall:7.2f} {precision:6.2f}")
    hits, misses, extra = totals
    print(f"{'all':10} {'':14} {hits:5} {misses:5} {extra:5} {hits / max(1, hits + misses):7.2f} {hits / max(1, hits + extra):6.2f}")
    return hits, misses, extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["fetch", "score"], nargs="?", default="score")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss and extra finding")
    args = parser.parse_args(argv)
    fetch()
    if args.command == "fetch":
        return 0
    cases, enabled = flake8_async_cases()
    folder = CACHE / f"flake8_async-{FLAKE8_ASYNC}" / "tests" / "eval_files"
    table = score("flake8-async", cases, enabled, {name: folder / name for name in enabled}, args.verbose)
    report("flake8-async", table)
    rcases, renabled, fixtures = ruff_cases()
    if not fixtures.is_dir():
        print(f"\nruff: no fixtures in {fixtures} (see ruff_cases)")
        return 0
    paths = {name: fixtures / name for name in renabled if (fixtures / name).is_file()}
    rtable = score("ruff", rcases, {n: c for n, c in renabled.items() if n in paths}, paths, args.verbose)
    report("ruff", rtable)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
