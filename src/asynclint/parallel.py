"""Running the per-file work of one CLI run, in this process or across a pool of worker processes."""
from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import multiprocessing
import os
import signal
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Literal, Sequence

from asynclint import deps, registry
from asynclint.config import Config
from asynclint.files import FileError, read_file
from asynclint.model import FileOutcome, Finding, Fix, PrecomputedFix, Result
from asynclint.output import text_edits
from asynclint.prepare import lint_specs, rules_to_run, specs_of
from asynclint.specs import Spec

if TYPE_CHECKING:
    from asynclint.rule import Rule

# the engine, the fixer and the rules (libcst) are imported where a file is linted: a run the
# result cache answers entirely never imports them

Mode = Literal["lint", "fix", "diff"]

#: multiprocessing start method for the pool; None: the platform's default (fork on Linux before 3.14)
START_METHOD: str | None = None


def default_jobs() -> int:
    """The CPUs this process may run on (``os.cpu_count()`` where the affinity mask is unknown)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Options:
    """What every file of a run is done with. Sent to worker processes once, so it must pickle."""

    config: Config
    #: the enabled rules, by code (classes are looked up again in a worker)
    codes: tuple[str, ...]
    mode: Mode = "lint"
    unsafe: bool = False
    #: the output shows fix edits (json, sarif): compute them where the parsed tree is
    edits: bool = False
    #: lint runs read and write the result cache (asynclint.cache)
    cache: bool = False


def portable_result(result: Result, edits: bool) -> Result:
    """``result`` without the parsed tree and libcst nodes (they do not pickle, and are large); each
    fix keeps its title and safety and, when ``edits``, the text edits it makes."""
    findings = [_portable_finding(result, finding, edits) for finding in result.findings]
    return Result(path=result.path, findings=findings, error=result.error, parsed=result.parsed, gated=result.gated)


def _portable_finding(result: Result, finding: Finding, edits: bool) -> Finding:
    fix = finding.fix
    if isinstance(fix, PrecomputedFix):
        return dataclasses.replace(finding, node=None)  # made portable where it was parsed
    portable: Fix | None = None
    if fix is not None:
        portable = PrecomputedFix(
            title=fix.title,
            safety=fix.safety,
            replacements=[],
            imports=fix.imports,
            prelude=fix.prelude,
            adds_await=fix.adds_await,
            edits=tuple(text_edits(result, finding)) if edits else None,
        )
    return dataclasses.replace(finding, fix=portable, node=None)


def needs_parse(data: bytes, path: str, config: Config, rules: Sequence[Spec]) -> bool:
    """Whether the engine would parse this file. Files that need no parse are done in the parent."""
    return bool(rules_to_run(data, path, config, rules))


def _classes(rules: Sequence[Spec]) -> list[type[Rule]]:
    by_code = registry.rules_by_code()
    return [by_code[spec.code] for spec in rules]


def process_file(path: Path, data: bytes, options: Options, rules: Sequence[Spec], portable: bool) -> FileOutcome:
    """Lint or fix one file's bytes (writing it for --fix, rendering the diff for --diff). A lint
    that the prefilter or the gate finishes never imports libcst or the rule classes."""
    name = str(path)
    if options.mode == "lint":
        deps.start()
        try:
            result = lint_specs(data, name, options.config, rules)
        finally:
            found = deps.collect()
        # always the portable form in a lint run, also in this process: a serial run kept every
        # file's parse tree until the end of the run (551 MB on the standard library, 262 MB with
        # two workers); output needs only the findings and, for json/sarif, the fix edits
        if portable or result.module is not None:
            result = portable_result(result, options.edits)
        return FileOutcome(name, result=result, deps=found)
    from asynclint.engine import lint_bytes
    from asynclint.fixes import fix_bytes, unified_diff, write_atomic

    classes = _classes(rules)
    try:
        fixed = fix_bytes(data, name, options.config, unsafe=options.unsafe, rules=classes)
    except (RecursionError, MemoryError):
        # CPython's compiler gives up on code nested too deeply; the engine says why in one line
        lint = lint_bytes(data, name, options.config, classes)
        why = lint.error or "nested too deeply to fix"
        return FileOutcome(name, fix_error=f"{name}: {why}", result=Result(path=name))
    outcome = FileOutcome(name, fix_error=fixed.error, changed=fixed.changed)
    if fixed.changed:
        if options.mode == "diff":
            outcome.diff = unified_diff(name, fixed.original, fixed.source)
        else:
            try:
                write_atomic(path, fixed.source, root=options.config.root)
            except OSError as exc:
                outcome.write_error = f"{name}: cannot write: {exc.strerror or exc}"
                # the file keeps its original text: report what is in it
                before = fixed.before if fixed.before is not None else Result(path=name)
                outcome.result = portable_result(before, options.edits) if portable else before
                return outcome
            outcome.fixed = fixed.fixed
    result = fixed.lint if fixed.lint is not None else Result(path=name)
    # --diff only looks for syntax errors in the result: no edits needed
    outcome.result = portable_result(result, options.edits and options.mode == "fix") if portable else result
    return outcome


def _rules(options: Options) -> list[Spec]:
    """The enabled rules' specs: the classes (and libcst) are loaded only for files that need them."""
    return specs_of(options.codes)


# --- worker process side -------------------------------------------------------------------------

_worker: tuple[Options, list[Spec]] | None = None


def _init_worker(options: Options) -> None:
    global _worker
    # Ctrl-C reaches the whole process group: the parent alone decides what happens
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # see _sigint_held
    _worker = (options, _rules(options))
    _use_summary_store(options)


def _use_summary_store(options: Options) -> None:
    """ASL290's module summaries are kept next to the result cache when the run uses it."""
    if options.mode == "lint" and options.cache:
        from asynclint import cache, callgraph

        callgraph.use_store(cache.folder(options.config.root))


def _work(path: str, data: bytes) -> FileOutcome:
    assert _worker is not None, "worker not initialised"
    options, rules = _worker
    return _guarded(Path(path), data, options, rules, portable=True)


def _guarded(path: Path, data: bytes, options: Options, rules: Sequence[Spec], portable: bool) -> FileOutcome:
    """process_file, with an exception (a bug outside the engine, which reports its own errors) made
    one line about this file instead of a traceback that ends the run."""
    try:
        return process_file(path, data, options, rules, portable=portable)
    except Exception as exc:
        name = str(path)
        message = f"internal error: {type(exc).__name__}: {exc}"
        if options.mode == "lint":
            return FileOutcome(name, result=Result(path=name, error=message))
        return FileOutcome(name, fix_error=f"{name}: {message}", result=Result(path=name))


# --- parent process side -------------------------------------------------------------------------


def run_files(paths: Iterable[Path], options: Options, jobs: int) -> Iterator[FileOutcome]:
    """One outcome per file, in the order of ``paths``, whatever the number of jobs.

    With ``jobs > 1`` the files are read and prefiltered here; the ones that need parsing go to a
    process pool when there are at least two of them. A pool that breaks (a worker killed) leaves
    the files it had not answered for to this process."""
    if options.mode == "lint" and options.cache:
        yield from _run_cached(list(paths), options, jobs)
        return
    rules = _rules(options)
    if jobs <= 1:
        for path in paths:
            yield _read_and_process(path, options, rules)
        return
    files = list(paths)
    contents = [read_file(path) for path in files]
    yield from _run_contents(files, contents, options, rules, jobs)


def _run_cached(files: list[Path], options: Options, jobs: int) -> Iterator[FileOutcome]:
    """A lint run through the result cache: files whose bytes and dependencies are unchanged take
    their outcome from it; the others are linted as usual and stored. The rule classes (and
    libcst) are imported only when some file is not answered by the cache."""
    from asynclint.cache import Cache, content_hash

    cache = Cache(options.config.root, _fingerprint(options))
    _use_summary_store(options)
    contents = [read_file(path) for path in files]
    answered: dict[int, FileOutcome] = {}
    digests: dict[int, str] = {}
    for i, data in enumerate(contents):
        if isinstance(data, bytes):
            digests[i] = content_hash(data)
            hit = cache.get(str(files[i]), digests[i])
            if isinstance(hit, FileOutcome) and hit.result is not None:
                # shown as this run spells the path (the entry is keyed by the absolute path)
                name = str(files[i])
                findings = [dataclasses.replace(f, path=name) for f in hit.result.findings]
                answered[i] = dataclasses.replace(hit, path=name, result=dataclasses.replace(hit.result, path=name, findings=findings))
    misses = [i for i in range(len(files)) if i not in answered]
    rules = _rules(options) if misses else []
    linted = _run_contents([files[i] for i in misses], [contents[i] for i in misses], options, rules, jobs)
    try:
        for i in range(len(files)):
            if i in answered:
                yield answered[i]
                continue
            outcome = next(linted)
            if i in digests and outcome.read_error is None and outcome.result is not None and not (
                outcome.result.error or ""
            ).startswith("internal error"):
                # the portable form: no parse tree, no libcst nodes (a serial run keeps them)
                stored = dataclasses.replace(outcome, result=portable_result(outcome.result, options.edits))
                cache.put(str(files[i]), digests[i], outcome.deps, stored)
            yield outcome
    finally:
        cache.save()


def _fingerprint(options: Options) -> str:
    """What the cached outcomes depend on besides the files: the configuration, the rules, whether
    fix edits are shown, and the folder paths are relative to."""
    return repr((options.config, options.codes, options.edits, os.getcwd()))


def _run_contents(
    files: list[Path], contents: list[bytes | FileError], options: Options, rules: Sequence[Spec], jobs: int
) -> Iterator[FileOutcome]:
    if jobs <= 1:
        for path, data in zip(files, contents):
            yield _outcome(path, data, options, rules)
        return
    heavy = [
        i
        for i, data in enumerate(contents)
        if isinstance(data, bytes) and needs_parse(data, str(files[i]), options.config, rules)
    ]
    if options.mode == "fix" and len(heavy) >= 2 and _repeats(files[i] for i in heavy):
        # a file named twice is read again after its first fix, as in a serial run
        for path in files:
            yield _read_and_process(path, options, rules)
        return
    if len(heavy) < 2:
        for path, data in zip(files, contents):
            yield _outcome(path, data, options, rules)
        return
    yield from _run_pool(files, contents, heavy, options, rules, jobs)


def _read_and_process(path: Path, options: Options, rules: Sequence[Spec]) -> FileOutcome:
    return _outcome(path, read_file(path), options, rules)


def _outcome(path: Path, data: bytes | FileError, options: Options, rules: Sequence[Spec]) -> FileOutcome:
    if isinstance(data, FileError):
        return FileOutcome(data.path, read_error=data.message)
    return _guarded(path, data, options, rules, portable=False)


def _repeats(paths: Iterable[Path]) -> bool:
    seen: set[str] = set()
    for path in paths:
        real = os.path.realpath(path)
        if real in seen:
            return True
        seen.add(real)
    return False


def _run_pool(
    files: list[Path],
    contents: list[bytes | FileError],
    heavy: list[int],
    options: Options,
    rules: Sequence[Spec],
    jobs: int,
) -> Iterator[FileOutcome]:
    try:
        context = multiprocessing.get_context(START_METHOD) if START_METHOD else None
        executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=min(jobs, len(heavy)), mp_context=context, initializer=_init_worker, initargs=(options,)
        )
    except (OSError, ImportError, NotImplementedError, ValueError):
        # no process support here (no /dev/shm for the pool's semaphores, an unknown start method)
        for path, data in zip(files, contents):
            yield _outcome(path, data, options, rules)
        return
    futures: dict[int, concurrent.futures.Future[FileOutcome]] = {}
    finished = False
    try:
        # submit() starts the worker processes
        with _sigint_held():
            # largest first: a big file started last would leave the other workers idle at the end
            for i in sorted(heavy, key=lambda i: -len(contents[i])):  # type: ignore[arg-type]
                data = contents[i]
                assert isinstance(data, bytes)
                try:
                    futures[i] = executor.submit(_work, str(files[i]), data)
                except (BrokenProcessPool, RuntimeError):
                    break  # a worker died while starting: the files not submitted are done here
        # the files that need no parse are quick: do them while the workers parse
        waiting = set(heavy)
        local = {i: _outcome(files[i], data, options, rules) for i, data in enumerate(contents) if i not in waiting}
        broken = False
        for i, path in enumerate(files):
            if i in local:
                yield local.pop(i)
                continue
            outcome: FileOutcome | None = None
            future = futures.get(i)
            if future is not None and not broken:
                try:
                    outcome = _result(future)
                except BrokenProcessPool:
                    broken = True  # every later future fails the same way: do the rest here
                except Exception:  # the outcome could not be sent back: do this file here
                    outcome = None
            if outcome is None:
                outcome = _outcome(path, contents[i], options, rules)
            yield outcome
        finished = True
    finally:
        if finished:
            executor.shutdown(wait=True)
        else:
            _abandon(executor, options)


#: called about ten times a second while the parent waits for a worker's answer (the terminal's
#: spinner, which has no thread of its own: asynclint.terminal.progress sets it)
on_wait: Callable[[], None] | None = None


def _result(future: concurrent.futures.Future[FileOutcome]) -> FileOutcome:
    hook = on_wait
    if hook is None:
        return future.result()
    while True:
        try:
            return future.result(timeout=0.1)
        except concurrent.futures.TimeoutError:
            hook()


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """SIGINT blocked while the pool starts its processes (and threads): they inherit the blocked
    mask, so a Ctrl-C never interrupts a worker that is still starting (with "spawn", before its
    initializer ignores SIGINT). A Ctrl-C that arrives meanwhile is delivered here on unblocking."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _abandon(executor: concurrent.futures.ProcessPoolExecutor, options: Options) -> None:
    """Stop the pool after Ctrl-C or an error in the parent. Workers that only lint are stopped at
    once; ones that may be writing a file finish that file (SIGINT is ignored there)."""
    if options.mode == "fix":
        executor.shutdown(wait=True, cancel_futures=True)
        return
    # shutdown() forgets the worker processes: take them first
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join()
