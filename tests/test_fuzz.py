"""Fuzzing: asynclint keeps its footing on any program and its fixes are right.

Three sources of programs:

- ``hypothesmith``: programs from Python's grammar and from libcst's node types (mostly nonsense
  that parses): linting and fixing never raise, a fix never turns compiling code into code that
  does not compile.
- ``runnable_programs``: modules mixing coroutines, blocking calls under every import alias,
  shadowed library names (a parameter named ``asyncio``, ``asyncio = None``), unawaited library
  coroutines, private coroutines, threads writing module state, locks, on asyncio, trio or anyio.
  They are run before and after ``--fix --unsafe-fixes`` and must return the same thing: that is
  what proves that the names a fix writes (``asyncio.sleep``, ``_asyncio.to_thread``,
  ``trio.to_thread.run_sync``, a module lock) resolve to the right objects.
- ``framework_programs``: Flask, FastAPI and Azure Functions apps with sync and async handlers,
  module state, shared files and locks (not run: the frameworks are not installed for tests).

For every program with fixes: the result parses and compiles, a second ``--fix`` changes nothing,
and no rule has more findings than before.

Profiles (``--hypothesis-profile``): ``ci`` (the default, about a minute) and ``long`` (by hand,
for the closing note: ``pytest tests/test_fuzz.py --hypothesis-profile=long
--hypothesis-show-statistics``).
"""
from __future__ import annotations

import collections
import os
import textwrap
import warnings

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asynclint import registry
from asynclint.config import Config
from asynclint.engine import Result, lint_bytes
from asynclint.fixes import fix_bytes

#: hypothesmith's programs are full of `"a"()` and `1 is 1`: CPython warns while compiling them
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

_COMMON = dict(deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
settings.register_profile("ci", max_examples=60, **_COMMON)
settings.register_profile("long", max_examples=1000, **_COMMON)
settings.load_profile(os.environ.get("ASYNCLINT_FUZZ_PROFILE", "ci"))

ALL_CODES = [rule.code for rule in registry.all_rules()]
CONFIG = Config(select=ALL_CODES, ignore_in_tests=[])
PATH = "app/fuzzed.py"
#: what fix_bytes says when a fix itself is wrong (as opposed to a file it cannot parse or check)
BUG_MESSAGES = ("a fix produced", "did not converge", "a fix changed nothing", "after applying fixes")


# --- the properties --------------------------------------------------------------------------------


def counts(result: Result) -> collections.Counter[str]:
    return collections.Counter(f.code for f in result.findings)


def compiles(source: bytes) -> bool:
    try:
        compile(source, PATH, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def check_lint_and_fix(source: bytes) -> bytes:
    """Lint and fix ``source`` (both must not raise) and check the fixed text; returns it."""
    before = lint_bytes(source, PATH, CONFIG)
    fixed = fix_bytes(source, PATH, CONFIG, unsafe=True)
    if fixed.error is not None:
        # a file the fixer refuses is left as it was, and says why in one line naming it; only a
        # file it cannot parse or check may be refused: a fix that breaks code is a bug
        assert fixed.source == source and fixed.error.startswith(PATH + ": ") and "\n" not in fixed.error
        assert not any(bug in fixed.error for bug in BUG_MESSAGES), fixed.error
        return source
    if not fixed.changed:
        return source
    assert before.error is None
    cst.parse_module(fixed.source)
    if compiles(source):
        assert compiles(fixed.source), fixed.source.decode()
    again = fix_bytes(fixed.source, PATH, CONFIG, unsafe=True)
    assert again.error is None and not again.changed, "a second --fix changed the fixed text"
    after = lint_bytes(fixed.source, PATH, CONFIG)
    grown = {code: n for code, n in counts(after).items() if n > counts(before)[code]}
    assert not grown, f"fixes added findings {grown}:\n{fixed.source.decode()}"
    return fixed.source


# --- programs from the grammar --------------------------------------------------------------------


@given(hypothesmith.from_grammar())
def test_grammar_programs(source: str) -> None:
    check_lint_and_fix(source.encode("utf-8", "surrogatepass"))


@given(hypothesmith.from_node())
def test_node_programs(source: str) -> None:
    check_lint_and_fix(source.encode("utf-8", "surrogatepass"))


# --- runnable async programs ----------------------------------------------------------------------

#: how the program imports time.sleep: (import line, the callee's spelling)
TIME_IMPORTS = [
    ("import time", "time.sleep"),
    ("import time as t", "t.sleep"),
    ("from time import sleep", "sleep"),
    ("from time import sleep as snooze", "snooze"),
    ("import time, os", "time.sleep"),
]
#: per library: ways to import it (import line, spelling of the library's module), the runner
LIBRARIES = {
    "asyncio": ([("import asyncio", "asyncio"), ("import asyncio as aio", "aio")], "asyncio.run(main())"),
    "trio": ([("import trio", "trio"), ("import trio as tr", "tr")], "trio.run(main)"),
    "anyio": ([("import anyio", "anyio")], "anyio.run(main)"),
}


def _indent(lines: list[str], by: str = "    ") -> str:
    return "".join(f"{by}{line}\n" for line in lines)


@st.composite
def runnable_programs(draw: st.DrawFn) -> tuple[str, str]:
    library = draw(st.sampled_from(sorted(LIBRARIES)))
    spellings, runner = LIBRARIES[library]
    lib_import, lib = draw(st.sampled_from(spellings))
    time_import, sleep = draw(st.sampled_from(TIME_IMPORTS))
    header = [time_import, lib_import, "import pathlib", "import threading"]
    runner_lib = library
    if lib != library:
        header.append(f"import {library}")  # the runner's own spelling
    shadow_module = library == "asyncio" and lib == "asyncio" and draw(st.booleans())
    body: list[str] = []
    body += header
    body += ["", "PATH = __file__", "COUNT = 0", "LOCK = threading.Lock()", ""]
    if shadow_module:
        # the module rebinds `asyncio` after the import: a fix must not write `asyncio.sleep`
        body = [line for line in body if line != "import asyncio"]
        body.insert(0, "import asyncio as _runner_asyncio")
        body.insert(1, "import asyncio")
        body += ["asyncio = None", ""]
        runner_lib = "_runner_asyncio"
    body += ["", "def worker():", "    global COUNT", "    COUNT += 1", ""]
    helpers = draw(st.integers(0, 2))
    for k in range(helpers):
        inner = draw(st.sampled_from([[f"{sleep}(0)"], ["pass"], [f"v = {sleep}(0)"]]))
        body += ["", f"async def _helper{k}(x):", *(f"    {line}" for line in inner), "    return x + 1", ""]
    coroutines = draw(st.integers(1, 3))
    for n in range(coroutines):
        shadow_param = draw(st.sampled_from(["", f", {library}=None", f", {lib}=None"]))
        # the library's module as this coroutine sees it: a parameter or `asyncio = None` hides it
        hidden = shadow_module or shadow_param.startswith(f", {lib}=")
        statements: list[list[str]] = []
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(
                st.sampled_from(
                    ["sleep", "unawaited", "read_text", "open", "helper", "thread", "lock", "local_import"]
                )
            )
            if kind == "sleep":
                statements.append([f"{sleep}(0)", "acc.append('slept')"])
            elif kind == "unawaited" and not hidden:
                statements.append([f"{lib}.sleep(0)", "acc.append('yielded')"])
            elif kind == "read_text":
                statements.append(["acc.append(len(pathlib.Path(PATH).read_text()))"])
            elif kind == "open":
                statements.append(["with open(PATH) as fh:", "    acc.append(len(fh.read()))"])
            elif kind == "helper" and helpers:
                k = draw(st.integers(0, helpers - 1))
                statements.append([f"acc.append(await _helper{k}({n}))"])
            elif kind == "thread":
                statements.append(
                    ["thread = threading.Thread(target=worker)", "thread.start()", "thread.join()", "acc.append(COUNT > 0)"]
                )
            elif kind == "lock":
                statements.append(["with LOCK:", f"    {sleep}(0)", "    acc.append('locked')"])
            elif kind == "local_import":
                # first: a local import makes the name local in the whole function
                statements.insert(0, [f"import {library}", f"{sleep}(0)", "acc.append('local')"])
        lines = [line for chunk in statements for line in chunk] or ["acc.append(None)"]
        body += ["", f"async def step{n}(acc{shadow_param}):", _indent(lines).rstrip("\n"), ""]
    calls = [f"    await step{n}(acc)" for n in range(coroutines)]
    body += ["", "async def main():", "    acc = []", *calls, "    return acc", ""]
    body += ["", "def run():", f"    return {runner.replace(library, runner_lib, 1)}", ""]
    return library, "\n".join(body)


def execute(source: bytes) -> object:
    namespace: dict[str, object] = {"__file__": __file__, "__name__": "fuzzed"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "coroutine ... was never awaited" of the original
        exec(compile(source, PATH, "exec", dont_inherit=True), namespace)
        run = namespace["run"]
        assert callable(run)
        return run()


@given(runnable_programs())
def test_fixed_programs_do_the_same(program: tuple[str, str]) -> None:
    library, text = program
    source = text.encode()
    assert compiles(source), text
    expected = execute(source)
    fixed = check_lint_and_fix(source)
    if fixed != source:
        assert execute(fixed) == expected, fixed.decode()


def test_runnable_programs_exercise_the_fixes() -> None:
    """The generator is not vacuous: a known program from it is fixed by several rules and runs."""
    text = textwrap.dedent(
        """\
        from time import sleep as snooze
        import asyncio
        import pathlib
        import threading

        PATH = __file__
        COUNT = 0


        def worker():
            global COUNT
            COUNT += 1


        async def step0(acc, asyncio=None):
            snooze(0)
            acc.append(len(pathlib.Path(PATH).read_text()))
            t = threading.Thread(target=worker)
            t.start()
            t.join()
            acc.append(COUNT > 0)


        async def main():
            acc = []
            await step0(acc)
            return acc


        def run():
            return asyncio.run(main())
        """
    )
    before = lint_bytes(text.encode(), PATH, CONFIG)
    fixed = check_lint_and_fix(text.encode())
    assert {"ASL200", "ASL230", "ASL302"} <= set(counts(before))
    assert b"await _asyncio.sleep(0)" in fixed and b"await _asyncio.to_thread(" in fixed
    assert b"with _count_lock:" in fixed
    assert execute(fixed) == execute(text.encode())


# --- framework apps (static checks) ---------------------------------------------------------------

FRAMEWORKS = {
    "flask": ("from flask import Flask\napp = Flask(__name__)\n", "@app.route('/{name}', methods=['POST'])"),
    "fastapi": ("from fastapi import FastAPI\napp = FastAPI()\n", "@app.post('/{name}')"),
    "azure": (
        "import azure.functions as func\napp = func.FunctionApp()\n",
        "@app.route(route='{name}')",
    ),
}
HANDLER_BODIES = [
    ["global HITS", "HITS += 1", "return str(HITS)"],
    ["CACHE[key] = CACHE.get(key, 0) + 1", "return 'ok'"],
    ["with open(LOG, 'a') as fh:", "    fh.write('x')", "return 'ok'"],
    ["data = json.loads(STATE.read_text())", "data['n'] = data.get('n', 0) + 1", "STATE.write_text(json.dumps(data))", "return 'ok'"],
    ["time.sleep(0.01)", "return 'ok'"],
    ["r = requests.get('http://127.0.0.1:1/')", "return r.text"],
    ["with LOCK:", "    HITS_LIST.append(1)", "return 'ok'"],
    ["subprocess.run(['true'])", "return 'ok'"],
    ["ITEMS.append(key)", "return 'ok'"],
]


@st.composite
def framework_programs(draw: st.DrawFn) -> str:
    framework = draw(st.sampled_from(sorted(FRAMEWORKS)))
    setup, decorator = FRAMEWORKS[framework]
    parts = [
        "import json\nimport pathlib\nimport subprocess\nimport threading\nimport time\n",
        "import requests\n" if draw(st.booleans()) else "import requests as rq\nrequests = rq\n",
        setup,
        "HITS = 0\nCACHE = {}\nITEMS = []\nHITS_LIST = []\nLOCK = threading.Lock()\n"
        "LOG = 'log.txt'\nSTATE = pathlib.Path('state.json')\n",
    ]
    for n in range(draw(st.integers(1, 4))):
        is_async = draw(st.booleans())
        body = draw(st.lists(st.sampled_from(HANDLER_BODIES), min_size=1, max_size=2))
        lines = [line for chunk in body for line in chunk if not line.startswith("return")] + ["return 'done'"]
        if any(line.startswith("global HITS") for line in lines):
            lines = ["global HITS"] + [line for line in lines if line != "global HITS"]
        params = "req" if framework == "azure" else ""
        key = "key = 'k'"
        parts.append(
            "\n\n"
            + decorator.format(name=f"h{n}")
            + f"\n{'async ' if is_async else ''}def h{n}({params}):\n"
            + _indent([key, *lines])
        )
    return "".join(parts)


@given(framework_programs())
def test_framework_programs(source: str) -> None:
    assert compiles(source.encode()), source
    check_lint_and_fix(source.encode())
