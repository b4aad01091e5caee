"""The ``ast`` gate (asynclint.gate) skips files and rules, never findings.

Every fixture, example app and rule example is linted with the gate on and off, with every rule
selected and with the fixture's own configuration: the findings (place, code, message, fix) must be
identical. The positive and near-miss snippets below pin what each gate keeps and what it skips,
so a gate that admits everything (no speed-up) or that skips a real shape fails here too. The
real-world corpus and the standard library are checked the same way by
``benchmarks/realworld.py gatecheck --stdlib`` (the numbers are in docs/performance.md)."""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest
from annotations import config_overrides

from asynclint import engine, gate, prepare, registry
from asynclint.config import Config, config_from_mapping

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
FILES = sorted({*FIXTURES.rglob("*.py"), *(ROOT / "examples").rglob("*.py")})
EVERY_RULE = [r.code for r in registry.all_rules()]


def _findings(source: bytes, path: str, config: Config, use_gate: bool, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    monkeypatch.setattr(prepare, "USE_GATE", use_gate)
    result = engine.lint_bytes(source, path, config)
    assert result.error is None
    return sorted(
        (f.line, f.col, f.end_line, f.end_col, f.code, f.message, f.fix.title if f.fix else None, f.fix.safety if f.fix else None)
        for f in result.findings
    )


def _configs(source: str) -> list[Config]:
    data = config_overrides(source)
    own = dict(data)
    every = {**data, "select": EVERY_RULE}
    out = [config_from_mapping(every, FIXTURES)]
    if own:
        out.append(config_from_mapping(own, FIXTURES))
    return out


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_fixture_same_findings_both_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = path.read_bytes()
    for config in _configs(source.decode("utf-8", "surrogateescape")):
        with_gate = _findings(source, str(path), config, True, monkeypatch)
        without = _findings(source, str(path), config, False, monkeypatch)
        assert with_gate == without


def test_rule_examples_same_findings_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_from_mapping({"select": EVERY_RULE}, FIXTURES)
    checked = 0
    for rule in registry.all_rules():
        for i, example in enumerate(rule.examples):
            source = example.source.encode()
            path = f"{rule.code}_example_{i}.py"
            assert _findings(source, path, config, True, monkeypatch) == _findings(source, path, config, False, monkeypatch)
            checked += 1
    assert checked >= len(registry.all_rules())


def test_fixtures_exercise_the_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixtures above only prove something if the gate turns rules away on some of them."""
    skipped = 0
    for path in FILES:
        source = path.read_bytes()
        config = config_from_mapping({"select": EVERY_RULE}, FIXTURES)
        byte_rules = engine.rules_to_run(source, str(path), config, registry.enabled_rules(config))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        skipped += len(byte_rules) - len(gate.admitted(byte_rules, tree, config))
    assert skipped > 100


# -- what each gate keeps and skips -------------------------------------------------------------


def _admitted(code: str, config: Config | None = None) -> set[str]:
    config = config or Config()
    rules = [r for r in registry.all_rules() if r.gate is not None]
    return {r.code for r in gate.admitted(rules, ast.parse(textwrap.dedent(code)), config)}


@pytest.mark.parametrize(
    ("code", "rule", "admitted"),
    [
        # ASL100: a handler (decorated) or a private coroutine awaited by name
        ("@app.get('/')\nasync def h():\n    return 1\n", "ASL100", True),
        ("async def _f():\n    return 1\nasync def g():\n    return await _f()\n", "ASL100", True),
        ("async def main(req):\n    return 1\n", "ASL100", True),  # Azure Functions v1
        ("async def f():\n    return 1\n", "ASL100", False),  # public, never awaited here
        ("async def _f():\n    await g()\nasync def h():\n    await _f()\n", "ASL100", False),
        ("async def _f():\n    return [x async for x in g()]\nasync def h():\n    await _f()\n", "ASL100", False),
        # a lazy generator expression's await suspends nothing where it is written
        ("async def _f():\n    return (await x for x in y)\nasync def h():\n    await _f()\n", "ASL100", True),
        # ASL200 and the other blocking rules: a known name, of a module the file names
        ("import time\nasync def f():\n    time.sleep(1)\n", "ASL200", True),
        ("from time import sleep as nap\nasync def f():\n    nap(1)\n", "ASL200", True),
        ("import time\nasync def f():\n    await time.sleep(1)\n", "ASL200", False),
        ("import time\ndef f():\n    time.sleep(1)\nasync def g():\n    await f()\n", "ASL200", False),
        ("import time\nasync def f():\n    lambda: time.sleep(1)\n", "ASL200", False),
        ("async def f(x):\n    x.sleep(1)\n", "ASL200", False),  # no module that has a blocking sleep
        ("import requests\nasync def f():\n    s = requests.Session()\n    s.get('u')\n", "ASL210", True),
        ("async def f(p):\n    with open(p) as fh:\n        return fh.read()\n", "ASL230", True),
        ("import boto3\nc = boto3.client('s3')\nasync def f():\n    c.list_buckets()\n", "ASL260", True),
        ("import threading\nL = threading.Lock()\nasync def f():\n    with L:\n        await g()\n", "ASL250", True),
        # ASL103
        ("import asyncio\nasync def f():\n    asyncio.run(g())\n", "ASL103", True),
        ("import asyncio\ndef f():\n    asyncio.run(g())\n", "ASL103", False),
        # ASL101: a thrown-away call named like a coroutine function
        ("async def save():\n    pass\ndef f():\n    save()\n", "ASL101", True),
        ("import asyncio\nasync def f():\n    asyncio.sleep(1)\n", "ASL101", True),
        ("async def save():\n    pass\nasync def f():\n    await save()\n", "ASL101", False),
        ("async def save():\n    pass\ndef f():\n    x = save()\n", "ASL101", False),
        # ASL302: a threaded entry point and a write of module state
        ("import threading\nN = {}\ndef w():\n    N['k'] = 1\nthreading.Thread(target=w).start()\n", "ASL302", True),
        ("import threading\nN = 0\ndef w():\n    global N\n    N += 1\nthreading.Thread(target=w).start()\n", "ASL302", True),
        ("import threading\ndef w():\n    n = {}\n    n['k'] = 1\nthreading.Thread(target=w).start()\n", "ASL302", False),
        ("N = {}\ndef w():\n    N['k'] = 1\n", "ASL302", False),  # nothing runs it on a thread
        ("class S:\n    def hit(self):\n        self.n += 1\nSTORE = S()\npool.submit(STORE.hit)\n", "ASL302", True),
        # ASL300: a threaded entry point and a file written
        ("from flask import Flask\napp = Flask(__name__)\n@app.post('/')\ndef v():\n    open('f', 'w').write('x')\n", "ASL300", True),
        ("from flask import Flask\napp = Flask(__name__)\n@app.post('/')\ndef v():\n    return 'x'\n", "ASL300", False),
        # ASL301: a file object opened at import time
        ("import threading\nLOG = open('l', 'a')\ndef w():\n    LOG.write('x')\nthreading.Thread(target=w)\n", "ASL301", True),
        ("import threading\ndef w():\n    pass\nthreading.Thread(target=w)\n", "ASL301", False),
    ],
)
def test_gate_shapes(code: str, rule: str, admitted: bool) -> None:
    assert (rule in _admitted(code)) is admitted


def test_configured_names_open_the_gate() -> None:
    blocking = "async def f(c):\n    c.fetch_all()\n"
    assert "ASL260" not in _admitted(blocking)
    assert "ASL260" in _admitted(blocking, config_from_mapping({"extra-blocking-calls": {"mylib.Client().fetch_all": "x"}}, ROOT))
    threaded = "N = {}\ndef job():\n    N['k'] = 1\nrun_later(job)\n"
    assert "ASL302" not in _admitted(threaded)
    assert "ASL302" in _admitted(threaded, config_from_mapping({"thread-entrypoints": ["tasks.run_later"]}, ROOT))


def test_a_gated_file_is_never_parsed_by_libcst(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(engine, "_parse", lambda *a: calls.append(a) or pytest.fail("libcst parse"))
    source = b"import asyncio\n\nasync def main():\n    await asyncio.sleep(1)\n"
    result = engine.lint_bytes(source, "m.py", Config())
    assert result.gated and not result.findings and not calls


def test_every_gate_name_is_known() -> None:
    for rule in registry.all_rules():
        assert rule.gate is None or rule.gate in gate.GATES, rule.code


def test_gate_tables_are_current() -> None:
    """data/gate_tables.json (read without libcst) is what the rules' tables say now;
    regenerate it with ``python -m asynclint.gate``."""
    text = (ROOT / "src" / "asynclint" / "data" / gate.TABLES_FILE).read_text(encoding="utf-8")
    assert text == gate.tables_json(), "stale: run `python -m asynclint.gate`"


@pytest.mark.parametrize(
    ("call", "admitted"),
    [
        ("open(P, 'w')", True),
        ("open(P, mode='a')", True),
        ("open(P, 'r+')", True),
        ("open(P, mode)", True),
        ("open(P, **kw)", True),
        ("Path(P).open('wb')", True),
        ("Path(P).open(m)", True),
        ("Path(P).write_text('x')", True),
        ("codecs.open(P, 'w', 'utf-8')", True),
        ("open(P)", False),
        ("open(P, 'rb')", False),
        ("Path(P).open()", False),
        ("Path(P).read_text()", False),
    ],
)
def test_file_write_gate(call: str, admitted: bool) -> None:
    code = f"import threading\nP = 'x'\ndef w(mode, m, kw):\n    {call}\nthreading.Thread(target=w).start()\n"
    assert ("ASL300" in _admitted(code)) is admitted


# -- the thread gates need an entry point that reaches the write -------------------------------

_WRITER = "def w():\n    open('f', 'w').write('x')\n"
_STATE = "N = {}\ndef w():\n    N['k'] = 1\n"


@pytest.mark.parametrize(
    ("code", "rule", "admitted"),
    [
        # ASL300: reached directly, through a helper, a method, a lambda, a partial, a loop
        (f"import threading\n{_WRITER}threading.Thread(target=w).start()\n", "ASL300", True),
        (f"import threading\n{_WRITER}def r():\n    w()\nthreading.Thread(target=r).start()\n", "ASL300", True),
        (f"import threading\n{_WRITER}def r():\n    pass\nthreading.Thread(target=r).start()\n", "ASL300", False),
        # the writer is an argument of the target, not the target
        (f"import threading\n{_WRITER}def r(f):\n    pass\nthreading.Thread(target=r, args=(w,)).start()\n", "ASL300", False),
        (f"import threading\n{_WRITER}threading.Thread(target=lambda: w()).start()\n", "ASL300", True),
        (f"import functools, threading\n{_WRITER}threading.Thread(target=functools.partial(w)).start()\n", "ASL300", True),
        (f"{_WRITER}def r():\n    pass\nfor fn in (w, r):\n    pool.submit(fn)\n", "ASL300", True),
        (f"{_WRITER}JOBS = [w]\nfor fn in JOBS:\n    pool.submit(fn)\n", "ASL300", True),
        (f"{_WRITER}for fn in JOBS:\n    map(fn, [])\n", "ASL300", False),  # the builtin map runs nothing on a thread
        (
            "import threading\nclass J:\n    def run(self):\n        self.save()\n    def save(self):\n"
            "        open('f', 'a').write('x')\nthreading.Thread(target=J().run).start()\n",
            "ASL300",
            True,
        ),
        (
            "import threading\nclass W(threading.Thread):\n    def run(self):\n        open('f', 'a').write('x')\n",
            "ASL300",
            True,
        ),
        (
            "from flask.views import MethodView\nclass Base(MethodView):\n    def _save(self):\n"
            "        open('f', 'a').write('x')\nclass V(Base):\n    def post(self):\n        self._save()\n",
            "ASL300",
            True,
        ),
        (
            f"from flask import Flask\napp = Flask(__name__)\n{_WRITER}@app.post('/')\ndef v():\n    w()\n",
            "ASL300",
            True,
        ),
        (
            f"from flask import Flask\napp = Flask(__name__)\n{_WRITER}@app.post('/')\ndef v():\n    return 'x'\n",
            "ASL300",
            False,
        ),
        # ASL302
        (f"import threading\n{_STATE}def r():\n    w()\nthreading.Thread(target=r).start()\n", "ASL302", True),
        (f"import threading\n{_STATE}def r():\n    pass\nthreading.Thread(target=r).start()\n", "ASL302", False),
        (f"from threading import Thread as T\n{_STATE}T(target=w).start()\n", "ASL302", True),
        (
            "from threading import Thread as T\nclass W(T):\n    def run(self):\n        open('f', 'a').write('x')\n",
            "ASL300",
            True,
        ),
        (f"import threading\n{_STATE}threading.Thread(*ARGS).start()\n", "ASL302", False),
        (f"import threading\n{_STATE}threading.Thread(*ARGS, w).start()\n", "ASL302", True),
        # ASL301: a module-level file object (or a csv writer on one) named by a threaded function
        (
            "import csv, threading\nLOG = open('l', 'a')\nW = csv.writer(LOG)\ndef w():\n    W.writerow([1])\n"
            "threading.Thread(target=w).start()\n",
            "ASL301",
            True,
        ),
        (
            "import threading\ndef init():\n    global LOG\n    LOG = open('l', 'a')\ndef w():\n    LOG.write('x')\n"
            "threading.Thread(target=w).start()\n",
            "ASL301",
            True,
        ),
        (
            "import threading\nLOG = open('l', 'a')\ndef w():\n    LOG.write('x')\ndef r():\n    pass\n"
            "threading.Thread(target=r).start()\n",
            "ASL301",
            False,
        ),
        # ``f`` is bound to a file only inside a function: not a module-level file object
        (
            "import threading\nopen('l', 'a')\ndef g(p):\n    with open(p) as f:\n        return f.read()\n"
            "def w(f):\n    f.write('x')\nthreading.Thread(target=w).start()\n",
            "ASL301",
            False,
        ),
        # names are looked up as Python does: a local name does not reach a def of the same name
        # elsewhere in the file (the standard library's test modules name their helpers f, t, args)
        (
            f"import threading\n{_WRITER}def start():\n    w = print\n    threading.Thread(target=w).start()\n",
            "ASL300",
            False,
        ),
        (f"import threading\n{_WRITER}def start(w):\n    threading.Thread(target=w).start()\n", "ASL300", False),
        (
            f"import threading\n{_WRITER}def r():\n    args = 1\n    return args\n"
            "def other():\n    args = w\n\nthreading.Thread(target=r).start()\n",
            "ASL300",
            False,
        ),
        # ... but reaches it from a scope that does not bind the name, or binds it to the writer
        (f"import threading\n{_WRITER}def start():\n    threading.Thread(target=w).start()\n", "ASL300", True),
        (f"import threading\n{_WRITER}def start():\n    job = w\n    threading.Thread(target=job).start()\n", "ASL300", True),
        (
            "import threading\ndef start():\n    def w():\n        open('f', 'w').write('x')\n"
            "    threading.Thread(target=w).start()\n",
            "ASL300",
            True,
        ),
        # a ``global`` or ``nonlocal`` binding is the outer scope's
        (
            f"import threading\n{_WRITER}def setup():\n    global job\n    job = w\n"
            "def start():\n    threading.Thread(target=job).start()\n",
            "ASL300",
            True,
        ),
        (
            f"import threading\n{_WRITER}def start():\n    job = print\n    def set():\n        nonlocal job\n        job = w\n"
            "    threading.Thread(target=job).start()\n",
            "ASL300",
            True,
        ),
        # a name bound only in a comprehension or by a walrus does not hide the outer one
        (
            f"import threading\n{_WRITER}def start():\n    [w for w in range(3)]\n    threading.Thread(target=w).start()\n",
            "ASL300",
            True,
        ),
        # ``self.m`` reaches the methods of its own class and its bases, not every method named m
        (
            "import threading\nclass Log:\n    def save(self):\n        open('f', 'a').write('x')\n"
            "class Job:\n    def run(self):\n        self.save()\n    def save(self):\n        pass\n"
            "threading.Thread(target=Job().run).start()\n",
            "ASL300",
            False,
        ),
        (
            "import threading\nclass Base:\n    def save(self):\n        open('f', 'a').write('x')\n"
            "class Job(Base):\n    def run(self):\n        self.save()\n"
            "threading.Thread(target=Job().run).start()\n",
            "ASL300",
            True,
        ),
        # ``self.x = ...`` is shared state only in a class the module instantiates (``STORE = Store()``)
        (
            "import threading\nclass Store:\n    def add(self):\n        self.hits = 1\n"
            "def r():\n    Store().add()\nthreading.Thread(target=r).start()\nOTHER = dict()\n",
            "ASL302",
            False,
        ),
        (
            "import threading\nclass Store:\n    def add(self):\n        self.hits += 1\nSTORE = Store()\n"
            "def r():\n    STORE.add()\nthreading.Thread(target=r).start()\n",
            "ASL302",
            True,
        ),
        # a class body's names are not seen from its methods
        (
            f"import threading\n{_WRITER}class C:\n    w = print\n    def start(self):\n        threading.Thread(target=w).start()\n",
            "ASL300",
            True,
        ),
    ],
)
def test_thread_gates_follow_calls_from_entry_points(code: str, rule: str, admitted: bool) -> None:
    assert (rule in _admitted(code)) is admitted
