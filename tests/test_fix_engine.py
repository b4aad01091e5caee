"""The fix engine (asynclint.fixes): imports, parentheses, nested fixes, encodings and line endings,
validation, convergence, atomic writes, JSON edits, and the CLI's --fix / --diff options."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest
from test_fixtures import FILES, fixture_config

from asynclint import fixes
from asynclint.config import Config
from asynclint.engine import lint_bytes
from asynclint.fixes import (
    FixResult,
    apply_fixes,
    fix_bytes,
    select_fixes,
    unified_diff,
    write_atomic,
)
from asynclint.output import source_lines, text_edits
from asynclint.rule import Fix, ImportSpec, Rule, Safety

DATA = Path(__file__).resolve().parent / "data"


def fix(source: str | bytes, *codes: str, unsafe: bool = True, **options: str) -> FixResult:
    data = source.encode("utf-8") if isinstance(source, str) else source
    config = Config(select=list(codes or ("ASL200",)), **options)  # type: ignore[arg-type]
    result = fix_bytes(data, "mod.py", config, unsafe=unsafe)
    assert result.error is None, result.error
    again = fix_bytes(result.source, "mod.py", config, unsafe=unsafe)
    assert again.error is None and again.source == result.source, "not a fixpoint"
    return result


def fixed_text(source: str, *codes: str, **options: str) -> str:
    return fix(source, *codes, **options).source.decode("utf-8")


# -- imports ---------------------------------------------------------------------------------


def test_existing_alias_is_reused_and_no_second_import() -> None:
    source = "import asyncio as aio\nimport time\n\nasync def f():\n    time.sleep(1)\n"
    assert fixed_text(source) == "import asyncio as aio\n\nasync def f():\n    await aio.sleep(1)\n"


def test_missing_import_is_added_once_after_existing_imports() -> None:
    source = "import os\nimport time\n\nasync def f():\n    time.sleep(1)\n    time.sleep(2)\n    return os.sep, time.monotonic()\n"
    assert fixed_text(source) == (
        "import os\nimport time\nimport asyncio\n\n"
        "async def f():\n    await asyncio.sleep(1)\n    await asyncio.sleep(2)\n    return os.sep, time.monotonic()\n"
    )


def test_import_goes_after_docstring_future_and_imports() -> None:
    source = '"""Doc."""\nfrom __future__ import annotations\n\nimport time\n\nasync def f():\n    time.sleep(1)\n    return time.time()\n'
    assert fixed_text(source) == (
        '"""Doc."""\nfrom __future__ import annotations\n\nimport time\nimport asyncio\n\n'
        "async def f():\n    await asyncio.sleep(1)\n    return time.time()\n"
    )
    # where the fix leaves `import time` unused, it goes (ruff would report F401)
    assert fixed_text(source.replace("    return time.time()\n", "")) == (
        '"""Doc."""\nfrom __future__ import annotations\nimport asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n'
    )


def test_import_after_future_when_that_is_the_only_import() -> None:
    source = "from __future__ import annotations\nasync def f():\n    import time\n    time.sleep(1)\n"
    assert fixed_text(source) == (
        "from __future__ import annotations\nimport asyncio\n\n"
        "async def f():\n    await asyncio.sleep(1)\n"
    )


def test_import_in_module_without_imports() -> None:
    source = "#!/usr/bin/env python\n# a comment\nasync def f():\n    import time\n    time.sleep(1)\n"
    assert fixed_text(source) == (
        "#!/usr/bin/env python\n# a comment\nimport asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n"
    )


def test_import_in_module_with_only_a_docstring() -> None:
    source = '"""Doc."""\n\nasync def f():\n    import time\n    time.sleep(1)\n'
    assert fixed_text(source) == '"""Doc."""\nimport asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n'


def test_import_when_the_imports_are_inside_try() -> None:
    source = '"""Doc."""\ntry:\n    import time\nexcept ImportError:\n    raise\n\nasync def f():\n    time.sleep(1)\n'
    assert fixed_text(source) == (
        '"""Doc."""\nimport asyncio\n\ntry:\n    import time\nexcept ImportError:\n    raise\n\n'
        "async def f():\n    await asyncio.sleep(1)\n"
    )


def test_alias_imported_inside_try_is_reused() -> None:
    source = "try:\n    import asyncio as aio\nexcept ImportError:\n    raise\nimport time\n\nasync def f():\n    time.sleep(1)\n"
    assert "await aio.sleep(1)" in fixed_text(source)
    assert fixed_text(source).count("import asyncio") == 1


def test_from_import_of_asyncio_does_not_hide_the_module_import() -> None:
    source = "from asyncio import sleep\nimport time\n\nasync def f():\n    time.sleep(1)\n    await sleep(0)\n"
    assert fixed_text(source) == (
        "from asyncio import sleep\nimport asyncio\n\n"
        "async def f():\n    await asyncio.sleep(1)\n    await sleep(0)\n"
    )


def test_run_in_executor_style_imports_functools_once() -> None:
    source = "import requests\n\nasync def f(url):\n    a = requests.get(url, timeout=1)\n    b = requests.post(url)\n    return a, b\n"
    assert fixed_text(source, "ASL210", fix_style="run-in-executor") == (
        "import requests\nimport asyncio\nimport functools\n\nasync def f(url):\n"
        "    a = await asyncio.get_running_loop().run_in_executor(None, functools.partial(requests.get, url, timeout=1))\n"
        "    b = await asyncio.get_running_loop().run_in_executor(None, functools.partial(requests.post, url))\n"
        "    return a, b\n"
    )


def test_run_in_executor_reuses_a_functools_alias() -> None:
    source = "import functools as ft\nimport requests\n\nasync def f(url):\n    return requests.get(url)\n"
    assert fixed_text(source, "ASL210", target_version="py38") == (
        "import functools as ft\nimport requests\nimport asyncio\n\nasync def f(url):\n"
        "    return await asyncio.get_running_loop().run_in_executor(None, ft.partial(requests.get, url))\n"
    )


def test_to_thread_is_the_default_style() -> None:
    source = "import requests\n\nasync def f(url):\n    return requests.get(url, timeout=1)\n"
    assert fixed_text(source, "ASL210") == (
        "import requests\nimport asyncio\n\nasync def f(url):\n    return await asyncio.to_thread(requests.get, url, timeout=1)\n"
    )


# -- parentheses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("x = time.sleep(1).foo", "x = (await asyncio.sleep(1)).foo"),
        ("time.sleep(1)[0]", "(await asyncio.sleep(1))[0]"),
        pytest.param(
            "time.sleep(1)()",
            "(await asyncio.sleep(1))()",
        ),
        ("x = -time.sleep(1)", "x = -await asyncio.sleep(1)"),
        ("x = time.sleep(1) ** 2", "x = await asyncio.sleep(1) ** 2"),  # await binds tighter than **
        ("x = (time.sleep(1)).real", "x = (await asyncio.sleep(1)).real"),
    ],
)
def test_parentheses_where_precedence_needs_them(line: str, expected: str) -> None:
    source = f"import asyncio\nimport time\n\nasync def f():\n    {line}\n"
    assert fixed_text(source) == f"import asyncio\n\nasync def f():\n    {expected}\n"


# -- nested fixes ----------------------------------------------------------------------------


def test_nested_fix_outer_first_then_inner_next_round() -> None:
    source = b"import asyncio\nimport time\n\nasync def f():\n    time.sleep(time.sleep(0) or 1)\n"
    lint = lint_bytes(source, "mod.py", Config(select=["ASL200"]))
    assert [(f.line, f.col) for f in lint.findings] == [(5, 5), (5, 16)]
    chosen = select_fixes([f.fix for f in lint.findings if f.fix is not None])
    assert chosen == [lint.findings[0].fix]  # the outer one
    assert lint.module is not None
    assert apply_fixes(lint.module, chosen).code.splitlines()[-1] == "    await asyncio.sleep(time.sleep(0) or 1)"
    result = fix(source)
    assert result.fixed == 2
    assert result.source.decode().splitlines()[-1] == "    await asyncio.sleep(await asyncio.sleep(0) or 1)"


def test_fix_bytes_counts_fixes_and_keeps_unsafe_ones_without_unsafe() -> None:
    source = "import requests\nimport time\n\nasync def f(url):\n    time.sleep(1)\n    return requests.get(url)\n"
    result = fix(source, "ASL200", "ASL210", unsafe=False)
    assert result.fixed == 1
    assert [(f.code, f.line) for f in result.remaining] == [("ASL210", 6)]  # in the fixed text
    assert result.source.decode() == (
        "import requests\nimport asyncio\n\nasync def f(url):\n    await asyncio.sleep(1)\n    return requests.get(url)\n"
    )


# -- encodings and line endings --------------------------------------------------------------


def test_crlf_file_stays_crlf_everywhere() -> None:
    source = b'"""Doc."""\r\nimport time\r\n\r\nasync def f():\r\n    time.sleep(1)\r\n'
    assert fix(source).source == (
        b'"""Doc."""\r\nimport asyncio\r\n\r\nasync def f():\r\n    await asyncio.sleep(1)\r\n'
    )


def test_crlf_file_without_imports_gets_a_crlf_import() -> None:
    source = b"async def f():\r\n    import time\r\n    time.sleep(1)\r\n"
    assert fix(source).source == b"import asyncio\r\n\r\nasync def f():\r\n    await asyncio.sleep(1)\r\n"


def test_bom_is_kept() -> None:
    source = b"\xef\xbb\xbfimport time\n\nasync def f():\n    time.sleep(1)  # caf\xc3\xa9\n"
    assert fix(source).source == b"\xef\xbb\xbfimport asyncio\n\nasync def f():\n    await asyncio.sleep(1)  # caf\xc3\xa9\n"


def test_latin1_file_with_coding_cookie_keeps_its_encoding() -> None:
    source = (DATA / "fix_latin1.py.in").read_bytes()
    assert b"\xe9" in source and b"\xc3\xa9" not in source
    assert fix(source).source == (DATA / "fix_latin1.py.expected").read_bytes()


def test_no_newline_at_end_of_file() -> None:
    source = b"import time\n\nasync def f():\n    time.sleep(1)"
    assert fix(source).source == b"import asyncio\n\nasync def f():\n    await asyncio.sleep(1)"


# -- validation, convergence ------------------------------------------------------------------


class _TestRule(Rule):
    """A rule built to exercise the engine: flags calls to ``target(...)``."""

    code = "ASL998"
    slug = "engine-test"
    message = "engine test"
    markers = (b"target",)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "target":
            self.report(node, fix=self.make_fix(node))

    def make_fix(self, node: cst.Call) -> Fix:
        raise NotImplementedError


class _AwaitInSyncDef(_TestRule):
    """Adds ``await`` in a sync function: parses, but does not compile."""

    def make_fix(self, node: cst.Call) -> Fix:
        return Fix("await it", Safety.SAFE, [(node, cst.Await(node))])


class _TreeBreaker(_TestRule):
    """Replaces the call with a keyword: the result does not parse."""

    def make_fix(self, node: cst.Call) -> Fix:
        return Fix("break it", Safety.SAFE, [(node, cst.Name("def"))])


class _NeverConverges(_TestRule):
    """``target(x)`` -> ``target(x, 1)``: every round leaves a finding to fix again."""

    def make_fix(self, node: cst.Call) -> Fix:
        return Fix("grow it", Safety.SAFE, [(node, node.with_changes(args=[*node.args, cst.Arg(cst.Integer("1"))]))])


class _AddsFindings(_TestRule):
    """``target(x)`` -> ``target(target(x))``: the fix makes a second finding of its own rule."""

    def make_fix(self, node: cst.Call) -> Fix:
        return Fix("wrap it", Safety.SAFE, [(node, node.with_changes(args=[cst.Arg(node)]))])


class _ChangesNothing(_TestRule):
    def make_fix(self, node: cst.Call) -> Fix:
        return Fix("nothing", Safety.SAFE, [(node, node.deep_clone())])


class _Raises(_TestRule):
    """A rule whose fix makes the replacer fail (a string where a node belongs)."""

    def make_fix(self, node: cst.Call) -> Fix:
        return Fix("bad", Safety.SAFE, [(node, "not a node")])  # type: ignore[list-item]


GOOD = b"import time\n\ndef f(x):\n    return target(x)\n"


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            _AwaitInSyncDef,
            "pkg/mod.py: a fix produced code that does not compile "
            "(SyntaxError: 'await' outside async function (mod.py, line 4)); file left unchanged",
        ),
        (_TreeBreaker, "pkg/mod.py: a fix produced invalid code (ParserSyntaxError: "),
        (
            _NeverConverges,
            "pkg/mod.py: fixes did not converge after 10 rounds (still fixable: ASL998 at line 4); file left unchanged",
        ),
        (_ChangesNothing, "pkg/mod.py: a fix changed nothing; file left unchanged"),
        (_Raises, "pkg/mod.py: a fix produced invalid code ("),
    ],
)
def test_a_failing_fix_leaves_the_file_and_names_it(rule: type[Rule], expected: str) -> None:
    result = fix_bytes(GOOD, "pkg/mod.py", Config(), rules=[rule])
    assert result.error is not None
    assert result.error.startswith(expected), result.error
    assert "\n" not in result.error
    assert result.source == GOOD and not result.changed and result.fixed == 0
    # what is reported describes the file as it stays on disk
    assert result.lint is not None and result.lint.source == GOOD
    assert [(f.code, f.line, f.col) for f in result.remaining] == [("ASL998", 4, 12)]


def test_syntax_error_file_is_not_fixed_and_reported() -> None:
    broken = b"import time\n\nasync def f(:\n    time.sleep(1)\n"
    reported = fix_bytes(broken, "bad.py", Config(select=["ASL001", "ASL200"]))
    assert reported.error is None and reported.source == broken
    assert [(f.code, f.line) for f in reported.remaining] == [("ASL001", 3)]
    silent = fix_bytes(broken, "bad.py", Config(select=["ASL200"]))
    assert silent.source == broken
    assert silent.error is not None and silent.error.startswith("bad.py: cannot parse file (ParserSyntaxError: ")
    assert silent.error.endswith("; not fixed")
    # skipped files and files no rule can match are not errors
    assert fix_bytes(b"def f(:\n", "x.py", Config(select=["ASL200"])).error is None
    assert fix_bytes(b"# asynclint: skip-file\nasync def f(:\n", "x.py", Config(select=["ASL200"])).error is None


def test_original_that_does_not_compile_only_needs_to_parse() -> None:
    # `return` outside a function parses but does not compile; the fix is still applied
    source = "import time\n\nasync def f():\n    time.sleep(1)\n\nreturn 1\n"
    result = fix_bytes(source.encode(), "mod.py", Config(select=["ASL200"]))
    assert result.error is None
    assert result.source.decode() == source.replace("time.sleep(1)", "await asyncio.sleep(1)").replace(
        "import time\n", "import asyncio\n"
    )


# -- preludes (module-level statements: locks, task sets) --------------------------------------


def _prelude_fix(module: cst.Module, prelude: tuple[str, ...]) -> Fix:
    func = next(s for s in module.body if isinstance(s, cst.FunctionDef))
    stmt = func.body.body[0]
    wrapped = cst.parse_statement("with _lock:\n    pass\n", config=module.config_for_parsing)
    assert isinstance(wrapped, cst.With) and isinstance(wrapped.body, cst.IndentedBlock)
    wrapped = wrapped.with_changes(body=wrapped.body.with_changes(body=[stmt]))
    return Fix("lock", Safety.UNSAFE, [(stmt, wrapped)], (ImportSpec("threading"),), prelude)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            '"""Doc."""\nimport os\n\ndef g():\n    os.sync()\n',
            '"""Doc."""\nimport os\nimport threading\n\n_lock = threading.Lock()\n\ndef g():\n    with _lock:\n        os.sync()\n',
        ),
        (
            "def g():\n    print()\n",
            "import threading\n\n_lock = threading.Lock()\n\ndef g():\n    with _lock:\n        print()\n",
        ),
        (
            "import os\r\n\r\ndef g():\r\n    os.sync()\r\n",
            "import os\r\nimport threading\r\n\r\n_lock = threading.Lock()\r\n\r\ndef g():\r\n    with _lock:\r\n        os.sync()\r\n",
        ),
        (
            # a later import the statement needs: the prelude goes after it, before the first def
            "import os\nX = 1\nimport threading\n\ndef g():\n    os.sync()\n",
            "import os\nX = 1\nimport threading\n\n_lock = threading.Lock()\n\ndef g():\n    with _lock:\n        os.sync()\n",
        ),
        (
            # an existing identical statement is not repeated
            "import threading\n\n_lock = threading.Lock()\n\ndef g():\n    print()\n",
            "import threading\n\n_lock = threading.Lock()\n\ndef g():\n    with _lock:\n        print()\n",
        ),
        (
            # ... but one that merely contains it as text is not the same statement
            "import threading\n\nmy_lock = threading.Lock()\n\ndef g():\n    print()\n",
            "import threading\n\n_lock = threading.Lock()\n\nmy_lock = threading.Lock()\n\ndef g():\n    with _lock:\n        print()\n",
        ),
    ],
)
def test_prelude_placement(source: str, expected: str) -> None:
    module = cst.parse_module(source)
    fix_ = _prelude_fix(module, ("_lock = threading.Lock()",))
    new = apply_fixes(module, [fix_]).code
    assert new == expected
    compile(new, "mod.py", "exec")


def test_same_prelude_from_two_fixes_is_added_once() -> None:
    module = cst.parse_module("def g():\n    print()\n\ndef h():\n    print()\n")
    funcs = [s for s in module.body if isinstance(s, cst.FunctionDef)]
    fixes_ = []
    for func in funcs:
        stmt = func.body.body[0]
        fixes_.append(Fix("x", Safety.UNSAFE, [(stmt, stmt)], (ImportSpec("threading"),), ("_lock = threading.Lock()",)))
    assert apply_fixes(module, fixes_).code == (
        "import threading\n\n_lock = threading.Lock()\n\ndef g():\n    print()\n\ndef h():\n    print()\n"
    )


# -- writing ---------------------------------------------------------------------------------


def test_write_atomic_keeps_permissions(tmp_path: Path) -> None:
    path = tmp_path / "script.py"
    path.write_bytes(b"old\n")
    path.chmod(0o755)
    write_atomic(path, b"new\r\n")
    assert path.read_bytes() == b"new\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert sorted(p.name for p in tmp_path.iterdir()) == ["script.py"]


def test_write_atomic_uses_a_temporary_file_in_the_same_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mod.py"
    path.write_bytes(b"old\n")
    seen: list[tuple[str, str]] = []
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        seen.append((str(src), str(dst)))
        assert Path(src).read_bytes() == b"new\n" and path.read_bytes() == b"old\n"
        real_replace(src, dst)

    monkeypatch.setattr(fixes.os, "replace", replace)
    write_atomic(path, b"new\n")
    assert len(seen) == 1 and Path(seen[0][0]).parent == tmp_path and Path(seen[0][1]) == path
    assert path.read_bytes() == b"new\n"


def test_failed_write_leaves_the_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mod.py"
    path.write_bytes(b"old\n")

    def replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fixes.os, "replace", replace)
    with pytest.raises(OSError):
        write_atomic(path, b"new\n")
    assert path.read_bytes() == b"old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mod.py"], "temporary file left behind"


def test_write_atomic_follows_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.py"
    real.write_bytes(b"old\n")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    write_atomic(link, b"new\n")
    assert link.is_symlink() and real.read_bytes() == b"new\n"


# -- diffs and JSON edits --------------------------------------------------------------------


def test_unified_diff_decodes_with_the_file_encoding_and_keeps_line_endings() -> None:
    before = (DATA / "fix_latin1.py.in").read_bytes()
    after = (DATA / "fix_latin1.py.expected").read_bytes()
    diff = unified_diff("a.py", before, after)
    assert "\ufffd" not in diff and "café" in (DATA / "fix_latin1.py.in").read_text("latin-1")
    assert "+import asyncio\n" in diff and "-    time.sleep(0.1)  # café\n" in diff
    crlf = unified_diff("b.py", b"x = 1\r\ny = 2\r\n", b"x = 1\r\ny = 3\r\n")
    assert crlf == "--- b.py\n+++ b.py\n@@ -1,2 +1,2 @@\n x = 1\r\n-y = 2\r\n+y = 3\r\n"
    assert unified_diff("c.py", b"x = 1", b"x = 2") == (
        "--- c.py\n+++ c.py\n@@ -1 +1 @@\n-x = 1\n\\ No newline at end of file\n+x = 2\n\\ No newline at end of file\n"
    )


def _apply_text_edits(text: str, edits: list) -> str:  # type: ignore[type-arg]
    lines = source_lines(text)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(line: int, col: int) -> int:
        return starts[line - 1] + col - 1

    out, last = [], 0
    for edit in edits:
        start, end = offset(edit.line, edit.col), offset(edit.end_line, edit.end_col)
        assert start >= last, "edits overlap or are out of order"
        out.append(text[last:start] + edit.content)
        last = end
    return "".join(out) + text[last:]


# fixtures with fixes have a .fixed golden (test_fixtures.py enforces that)
EDIT_FILES = [*(p for p in FILES if p.with_name(p.name + ".fixed").exists()), *sorted(DATA.glob("fix_*.py.in"))]


@pytest.mark.parametrize("path", EDIT_FILES, ids=[p.name for p in EDIT_FILES])
def test_json_edits_reproduce_each_single_fix(path: Path) -> None:
    source = path.read_text(encoding="utf-8", errors="surrogateescape") if path in FILES else ""
    config = fixture_config(path, source) if path in FILES else Config(ignore_in_tests=[])  # tests/data is test code
    result = lint_bytes(path.read_bytes(), str(path), config)
    assert result.error is None
    fixable = [f for f in result.findings if f.fix is not None]
    assert fixable, f"{path.name} has no fixable finding"
    assert result.module is not None
    for finding in fixable:
        edits = text_edits(result, finding)
        assert edits, f"{finding.code} at line {finding.line} has no edits"
        expected = apply_fixes(result.module, [finding.fix]).code  # type: ignore[list-item]
        assert _apply_text_edits(result.module.code, edits) == expected, f"{finding.code} at line {finding.line}"


# -- the command line ------------------------------------------------------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCLINT_")}
    return subprocess.run(
        [sys.executable, "-m", "asynclint", "--no-cache", *args], cwd=cwd, capture_output=True, text=True, env=env
    )


SLEEPY = "import time\n\nasync def f():\n    time.sleep(1)\n"
SLEEPY_FIXED = "import asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n"
BROKEN = "import time\n\nasync def f(:\n    time.sleep(1)\n"


def test_cli_fix_never_writes_a_file_it_could_not_parse(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(SLEEPY)
    (tmp_path / "bad.py").write_text(BROKEN)
    proc = cli("--fix", "--select", "ASL001,ASL200", ".", cwd=tmp_path)
    assert (tmp_path / "good.py").read_text() == SLEEPY_FIXED
    assert (tmp_path / "bad.py").read_text() == BROKEN
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        "bad.py:3:13: ASL001 SyntaxError: invalid syntax",
        "Fixed 1 error. Found 1 remaining error.",
    ]
    assert proc.stderr == ""
    # with ASL001 not selected the file is still never passed over silently
    (tmp_path / "good.py").write_text(SLEEPY)
    proc = cli("--fix", "--select", "ASL200", ".", cwd=tmp_path)
    assert (tmp_path / "good.py").read_text() == SLEEPY_FIXED
    assert (tmp_path / "bad.py").read_text() == BROKEN
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith("asynclint: bad.py: cannot parse file (ParserSyntaxError: ") and line.endswith("; not fixed")
    assert "Traceback" not in proc.stderr


def test_cli_diff_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(SLEEPY)
    proc = cli("--diff", "--select", "ASL200", "app.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == (
        "--- app.py\n+++ app.py\n@@ -1,4 +1,4 @@\n-import time\n+import asyncio\n \n async def f():\n"
        "-    time.sleep(1)\n+    await asyncio.sleep(1)\n"
    )
    assert proc.stderr == "Would fix 1 file.\n"
    assert (tmp_path / "app.py").read_text() == SLEEPY
    (tmp_path / "app.py").write_text(SLEEPY_FIXED)
    proc = cli("--diff", "--select", "ASL200", "app.py", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    (tmp_path / "bad.py").write_text(BROKEN)
    proc = cli("--diff", "--select", "ASL001,ASL200", "bad.py", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "asynclint: bad.py:3:13: SyntaxError: invalid syntax; not fixed\n"


def test_cli_fix_output_and_exit_non_zero_on_fix(tmp_path: Path) -> None:
    both = "import requests\nimport time\n\nasync def f(url):\n    time.sleep(1)\n    return requests.get(url)\n"
    (tmp_path / "app.py").write_text(both)
    proc = cli("--select", "ASL200,ASL210", "app.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == (
        "app.py:5:5: ASL200 [*] `time.sleep(...)` blocks the event loop; use `await asyncio.sleep(...)`"
    )
    assert proc.stdout.splitlines()[1].startswith("app.py:6:12: ASL210 `requests.get(...)` blocks")
    assert proc.stdout.splitlines()[2] == "Found 2 errors (1 fixable with --fix; 1 more with --fix --unsafe-fixes)."
    proc = cli("--fix", "--select", "ASL200,ASL210", "app.py", cwd=tmp_path)
    assert proc.returncode == 1  # the unsafe one remains
    assert proc.stdout.splitlines()[-1] == "Fixed 1 error. Found 1 remaining error (1 more with --fix --unsafe-fixes)."
    proc = cli("--fix", "--unsafe-fixes", "--exit-non-zero-on-fix", "--select", "ASL200,ASL210", "app.py", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "Fixed 1 error. Found 0 remaining errors.\n", "")
    assert (tmp_path / "app.py").read_text() == (
        "import requests\nimport asyncio\n\nasync def f(url):\n    await asyncio.sleep(1)\n"
        "    return await asyncio.to_thread(requests.get, url)\n"
    )
    (tmp_path / "app.py").write_text(SLEEPY)
    proc = cli("--fix", "--select", "ASL200", "app.py", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "Fixed 1 error. Found 0 remaining errors.\n")


def test_a_fix_that_adds_a_finding_is_not_applied() -> None:
    result = fix_bytes(GOOD, "pkg/mod.py", Config(), rules=[_AddsFindings])
    assert result.error is None
    assert result.source == GOOD and not result.changed and result.fixed == 0
    assert [(f.code, f.line) for f in result.remaining] == [("ASL998", 4)]


def test_dropping_async_is_not_applied_where_the_handler_would_then_race(tmp_path: Path) -> None:
    """The unsafe ASL100 fix would make the handler threaded, and its ``hits += 1`` an ASL302 race:
    that fix is dropped, the one for the handler without shared state is applied."""
    app = tmp_path / "app.py"
    app.write_text(
        "import time\n\nfrom fastapi import FastAPI\n\napp = FastAPI()\nhits = 0\n\n\n"
        "@app.get(\"/count\")\nasync def count() -> dict:\n    global hits\n    time.sleep(0.01)\n"
        "    hits += 1\n    return {\"hits\": hits}\n\n\n"
        "@app.get(\"/slow\")\nasync def slow() -> dict:\n    time.sleep(0.01)\n    return {}\n",
        encoding="utf-8",
    )
    before = app.read_text(encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "asynclint", "--select", "ASL100,ASL3", "--fix", "--unsafe-fixes", str(app)],
        capture_output=True, text=True,
    )
    after = app.read_text(encoding="utf-8")
    assert after == before.replace("async def slow", "def slow"), after
    assert out.returncode == 1 and "ASL100" in out.stdout and "`async def count`" in out.stdout, out.stdout
    lint = subprocess.run(
        [sys.executable, "-m", "asynclint", "--select", "ASL100,ASL3", "--output-format", "concise", str(app)],
        capture_output=True, text=True,
    )
    assert [line.split(": ")[1].split()[0] for line in lint.stdout.splitlines()] == ["ASL100"]


# -- orphaned imports: relative imports, cost per round -----------------------------------------


def test_cli_fix_in_a_package_with_a_relative_import(tmp_path: Path) -> None:
    """The orphaned-import check used to resolve every import to an absolute module name and failed
    on ``from .helper import delay`` (exit 2, file left unchanged)."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text("delay = 1\n")
    (pkg / "mod.py").write_text("import time\nfrom .helper import delay\nasync def f():\n    time.sleep(delay)\n")
    (pkg / "other.py").write_text(
        "import time\nfrom . import helper\nfrom .helper import delay as d\n\n"
        "async def g():\n    time.sleep(helper.delay)\n    return time.monotonic(), d\n"
    )
    proc = cli("--fix", "--select", "ASL200", "pkg", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "Fixed 2 errors. Found 0 remaining errors.\n", "")
    assert (pkg / "mod.py").read_text() == (
        "from .helper import delay\nimport asyncio\n\nasync def f():\n    await asyncio.sleep(delay)\n"
    )
    assert (pkg / "other.py").read_text() == (
        "import time\nfrom . import helper\nfrom .helper import delay as d\nimport asyncio\n\n"
        "async def g():\n    await asyncio.sleep(helper.delay)\n    return time.monotonic(), d\n"
    )


def test_relative_import_of_the_replaced_name_goes_when_unused() -> None:
    # the bound name decides, so a relative import the replaced code alone used goes too
    source = "import time\nfrom .cfg import pause, other\n\nasync def f():\n    time.sleep(pause)\n    return other\n"
    config = Config(select=["ASL200"])
    assert fix_bytes(source.encode(), "pkg/mod.py", config).source.decode() == (
        "from .cfg import pause, other\nimport asyncio\n\nasync def f():\n    await asyncio.sleep(pause)\n    return other\n"
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            # an import the replaced code did not use stays, even when unused
            "import os\nimport time\n\nasync def f():\n    time.sleep(1)\n",
            "import os\nimport asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n",
        ),
        (
            # imports in try: and if blocks are deliberate
            "try:\n    import time\nexcept ImportError:\n    time = None\nif True:\n    from time import sleep\n\n"
            "async def f():\n    time.sleep(1)\n    sleep(2)\n",
            "import asyncio\n\ntry:\n    import time\nexcept ImportError:\n    time = None\nif True:\n    from time import sleep\n\n"
            "async def f():\n    await asyncio.sleep(1)\n    await asyncio.sleep(2)\n",
        ),
        (
            # still used elsewhere, in __all__, or by a string annotation
            "import time\n__all__ = ['time']\n\nasync def f():\n    time.sleep(1)\n",
            "import time\nimport asyncio\n\n__all__ = ['time']\n\nasync def f():\n    await asyncio.sleep(1)\n",
        ),
        (
            "import time\n\nasync def f(x: 'time.struct_time'):\n    time.sleep(1)\n",
            "import time\nimport asyncio\n\nasync def f(x: 'time.struct_time'):\n    await asyncio.sleep(1)\n",
        ),
        (
            # a local of the same name elsewhere does not keep the import
            "import time\n\nasync def f():\n    time.sleep(1)\n\ndef g(time):\n    return time\n",
            "import asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n\ndef g(time):\n    return time\n",
        ),
        (
            # several names on one line, and a statement after a semicolon
            "import os, time; x = 1\n\nasync def f():\n    time.sleep(1)\n    return os.sep, x\n",
            "import asyncio\n\nimport os; x = 1\n\nasync def f():\n    await asyncio.sleep(1)\n    return os.sep, x\n",
        ),
        (
            "x = 1; import time\n\nasync def f():\n    time.sleep(1)\n    return x\n",
            "import asyncio\n\nx = 1\n\nasync def f():\n    await asyncio.sleep(1)\n    return x\n",
        ),
    ],
)
def test_orphaned_imports(source: str, expected: str) -> None:
    assert fixed_text(source) == expected


def test_a_fix_that_unbinds_a_local_keeps_the_import_it_now_reaches() -> None:
    """Without the local ``s = 1``, ``return s`` reads the import: it must stay."""
    module = cst.parse_module("from m import s\n\ndef g():\n    s = 1\n    return s\n")
    func = module.body[1]
    assert isinstance(func, cst.FunctionDef) and isinstance(func.body, cst.IndentedBlock)
    stmt = func.body.body[0]
    fix_ = Fix("unbind", Safety.SAFE, [(stmt, cst.parse_statement("x = 1\n"))])
    assert apply_fixes(module, [fix_]).code == "from m import s\n\ndef g():\n    x = 1\n    return s\n"


def _coroutines(n: int, call: str) -> str:
    return "import time\n\n" + "".join(f"\nasync def f{i}():\n    {call}\n" for i in range(n))


def test_orphan_check_walks_the_module_once_per_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """The orphaned-import check used to analyse the whole module once per fix (200 s for 5,000
    fixes): its facts are now computed once per parsed tree, and scope analysis only runs when a
    name the fixes used is still read elsewhere."""
    built: list[int] = []
    scoped: list[int] = []
    real_init = fixes._ModuleNames.__init__
    real_assignments = fixes._ModuleNames.assignments

    def init(self: fixes._ModuleNames, module: cst.Module) -> None:
        built.append(id(module))
        real_init(self, module)

    def assignments(self: fixes._ModuleNames, name: str) -> list:  # type: ignore[type-arg]
        scoped.append(id(self))
        return real_assignments(self, name)

    monkeypatch.setattr(fixes._ModuleNames, "__init__", init)
    monkeypatch.setattr(fixes._ModuleNames, "assignments", assignments)
    source = _coroutines(300, "time.sleep(1)")
    result = fix(source)
    assert result.fixed == 300
    assert result.source.decode() == "import asyncio\n\n" + "".join(
        f"\nasync def f{i}():\n    await asyncio.sleep(1)\n" for i in range(300)
    )
    assert len(built) == 1 and scoped == []  # one round applied fixes; `time` is read nowhere after
    # JSON edits apply each fix alone: still one pass over the tree, one scope analysis
    built.clear()
    config = Config(select=["ASL200"])
    small = _coroutines(30, "time.sleep(1)") + "\ndef g(time):\n    return time\n"
    lint = lint_bytes(small.encode(), "mod.py", config)
    assert lint.module is not None and len(lint.findings) == 30
    for finding in lint.findings:
        assert finding.fix is not None
        apply_fixes(lint.module, [finding.fix])
    assert len(built) == 1 and len(set(scoped)) == 1


def test_cli_fix_of_many_coroutines(tmp_path: Path) -> None:
    (tmp_path / "many.py").write_text(_coroutines(400, "time.sleep(1)\n    return time.monotonic()"))
    proc = cli("--fix", "--select", "ASL200", "many.py", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "Fixed 400 errors. Found 0 remaining errors.\n", "")
    assert (tmp_path / "many.py").read_text() == "import time\nimport asyncio\n\n" + "".join(
        f"\nasync def f{i}():\n    await asyncio.sleep(1)\n    return time.monotonic()\n" for i in range(400)
    )
