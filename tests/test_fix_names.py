"""Fixes name a module by a name that is bound to that module where the fix goes: a module-level
rebinding, a parameter or local named like the module, a library imported only inside a function or
only as ``import trio.lowlevel``. Each case runs through the CLI, then the fixed module is compiled,
run under its library (its sleep recorded) and checked with ``ruff --select F``."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

# (source, fixed text, library the coroutine runs under, calls of that library's sleep when it runs)
CASES: dict[str, tuple[str, str, str, int]] = {
    "module_rebinds_asyncio": (
        '''
        """M."""
        import asyncio
        import time

        asyncio = None


        async def main():
            time.sleep(0)
        ''',
        '''
        """M."""
        import asyncio

        import asyncio as _asyncio

        asyncio = None


        async def main():
            await _asyncio.sleep(0)
        ''',
        "asyncio",
        1,
    ),
    "parameter_named_asyncio": (
        '''
        """M."""
        import asyncio
        import time


        async def main(asyncio=None):
            time.sleep(0)
            return asyncio
        ''',
        '''
        """M."""
        import asyncio

        import asyncio as _asyncio


        async def main(asyncio=None):
            await _asyncio.sleep(0)
            return asyncio
        ''',
        "asyncio",
        1,
    ),
    "local_named_asyncio": (
        '''
        """M."""
        import asyncio
        import time


        async def main():
            asyncio = "not the module"
            time.sleep(0)
            return asyncio
        ''',
        '''
        """M."""
        import asyncio

        import asyncio as _asyncio


        async def main():
            asyncio = "not the module"
            await _asyncio.sleep(0)
            return asyncio
        ''',
        "asyncio",
        1,
    ),
    "later_from_import_rebinds_asyncio": (
        '''
        """M."""
        import asyncio
        import time

        from types import SimpleNamespace as asyncio


        async def main():
            time.sleep(0)
            return asyncio
        ''',
        '''
        """M."""
        import asyncio

        from types import SimpleNamespace as asyncio

        import asyncio as _asyncio


        async def main():
            await _asyncio.sleep(0)
            return asyncio
        ''',
        "asyncio",
        1,
    ),
    "unshadowed_alias_is_reused": (
        '''
        """M."""
        import asyncio as aio
        import time


        async def main(asyncio=None):
            time.sleep(0)
            await aio.sleep(0)
            return asyncio
        ''',
        '''
        """M."""
        import asyncio as aio


        async def main(asyncio=None):
            await aio.sleep(0)
            await aio.sleep(0)
            return asyncio
        ''',
        "asyncio",
        2,
    ),
    "fresh_name_avoids_names_in_use": (
        '''
        """M."""
        import time

        _asyncio = "taken"


        async def main(asyncio=None):
            time.sleep(0)
            return asyncio, _asyncio
        ''',
        '''
        """M."""

        import asyncio as _asyncio_2

        _asyncio = "taken"


        async def main(asyncio=None):
            await _asyncio_2.sleep(0)
            return asyncio, _asyncio
        ''',
        "asyncio",
        1,
    ),
    "trio_imported_in_the_coroutine": (
        '''
        """M."""
        import time


        async def main():
            import trio

            time.sleep(0)
            await trio.sleep(0)
        ''',
        '''
        """M."""


        async def main():
            import trio

            await trio.sleep(0)
            await trio.sleep(0)
        ''',
        "trio",
        2,
    ),
    "only_trio_lowlevel_imported": (
        '''
        """M."""
        import time

        import trio.lowlevel


        async def main():
            time.sleep(0)
            return trio.lowlevel.current_task()
        ''',
        '''
        """M."""

        import trio.lowlevel


        async def main():
            await trio.sleep(0)
            return trio.lowlevel.current_task()
        ''',
        "trio",
        1,
    ),
    "trio_imported_only_in_another_function": (
        '''
        """M."""
        import time


        def nursery():
            import trio

            return trio.open_nursery()


        async def main():
            time.sleep(0)
        ''',
        '''
        """M."""
        import trio


        def nursery():
            import trio

            return trio.open_nursery()


        async def main():
            await trio.sleep(0)
        ''',
        "trio",
        1,
    ),
    "trio_imported_only_on_one_branch": (
        '''
        """M."""
        import time


        async def main(flag=False):
            if flag:
                import trio
            time.sleep(0)
        ''',
        '''
        """M."""

        import trio as _trio


        async def main(flag=False):
            if flag:
                import trio
            await _trio.sleep(0)
        ''',
        "trio",
        1,
    ),
    "trio_imported_later_in_a_with_block_under_an_alias": (
        '''
        """M."""
        import contextlib
        import time


        async def main():
            with contextlib.nullcontext():
                import trio as t
                time.sleep(0)
        ''',
        '''
        """M."""
        import contextlib


        async def main():
            with contextlib.nullcontext():
                import trio as t
                await t.sleep(0)
        ''',
        "trio",
        1,
    ),
    "thread_wrapper_with_shadowed_functools": (
        '''
        """M."""
        import subprocess
        import sys


        async def main(functools=None):
            import trio

            subprocess.run([sys.executable, "-c", "pass"], check=True)
            await trio.sleep(0)
            return functools
        ''',
        '''
        """M."""
        import subprocess
        import sys

        import functools as _functools


        async def main(functools=None):
            import trio

            await trio.to_thread.run_sync(_functools.partial(subprocess.run, [sys.executable, "-c", "pass"], check=True))
            await trio.sleep(0)
            return functools
        ''',
        "trio",
        1,
    ),
    "thread_wrapper_with_shadowed_asyncio": (
        '''
        """M."""
        import subprocess
        import sys


        async def main(asyncio=None):
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            return asyncio
        ''',
        '''
        """M."""
        import subprocess
        import sys

        import asyncio as _asyncio


        async def main(asyncio=None):
            await _asyncio.to_thread(subprocess.run, [sys.executable, "-c", "pass"], check=True)
            return asyncio
        ''',
        "asyncio",
        0,
    ),
}

#: runs ``main()`` of the module at argv[1] under the library argv[2], its ``sleep`` recording the
#: calls (whatever name the module reaches it by, it is an attribute of the library's module)
RUNNER = """
import runpy, sys
lib = __import__(sys.argv[2])
calls = []
real = lib.sleep
async def recording(seconds, *args, **kwargs):
    calls.append(seconds)
    return await real(seconds, *args, **kwargs)
lib.sleep = recording
main = runpy.run_path(sys.argv[1])["main"]
if sys.argv[2] == "trio":
    lib.run(main)
else:
    lib.run(main())
print(len(calls))
"""


def _ruff() -> list[str]:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("ruff")
    return [found] if found else [sys.executable, "-m", "ruff"]


def _pyflakes(path: Path) -> Counter[tuple[str, str]]:
    """ruff's F findings as (code, message), line numbers in messages left out (lines move)."""
    proc = subprocess.run(
        [*_ruff(), "check", "--isolated", "--no-cache", "--select", "F", "--output-format", "json", "--exit-zero", path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return Counter((item["code"], re.sub(r"line \d+", "line N", item["message"])) for item in json.loads(proc.stdout))


@pytest.mark.parametrize("name", list(CASES))
def test_fix_names_the_module_bound_where_it_goes(tmp_path: Path, name: str) -> None:
    source, expected, library, sleeps = CASES[name]
    source, expected = textwrap.dedent(source).lstrip("\n"), textwrap.dedent(expected).lstrip("\n")
    original = tmp_path / "original.py"
    original.write_text(source)
    path = tmp_path / "mod.py"
    path.write_text(source)

    fixed = subprocess.run(
        [sys.executable, "-m", "asynclint", "--fix", "--unsafe-fixes", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert fixed.stderr == ""
    assert fixed.returncode == 0, fixed.stdout
    text = path.read_text()
    assert text == expected
    compile(text, str(path), "exec")

    ran = subprocess.run([sys.executable, "-c", RUNNER, str(path), library], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == str(sleeps)

    new = _pyflakes(path) - _pyflakes(original)
    assert not new, f"the fix introduced {sorted(new.elements())}"


def test_fixing_again_changes_nothing(tmp_path: Path) -> None:
    """A fresh alias added by one round is reused by the next, not joined by another one."""
    for name, (_, expected, _, _) in CASES.items():
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(expected).lstrip("\n"))
    out = subprocess.run(
        [sys.executable, "-m", "asynclint", "--fix", "--unsafe-fixes", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (out.returncode, out.stderr) == (0, ""), out.stdout
    for name, (_, expected, _, _) in CASES.items():
        assert (tmp_path / f"{name}.py").read_text() == textwrap.dedent(expected).lstrip("\n"), name
