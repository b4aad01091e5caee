"""Generate ``src/asynclint/data/library_coroutines.json``: every coroutine function and coroutine
method of asyncio, trio and anyio, read from the installed libraries themselves (ASL101).

    python tools/library_coroutines.py          # rewrite the data file
    python tools/library_coroutines.py --check  # exit 1 when the file is stale

A function is listed by its public name (``trio.sleep``, ``trio.lowlevel.checkpoint``); a method
in the notation of ``Context.callee_names``: ``trio.Nursery().start``, ``asyncio.Queue().get``.
Objects that a factory returns are listed under the factory too (``trio.open_nursery().start``:
``async with trio.open_nursery() as nursery`` binds the nursery). The file records the library
versions it was made from; ``tests/test_blocking_tables.py`` regenerates it and fails when it
differs (pyproject pins the versions the test installs).
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
from importlib import metadata
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "src" / "asynclint" / "data" / "library_coroutines.json"

#: the public modules whose names users call (submodules that are part of the public API)
MODULES = {
    "asyncio": ("asyncio",),
    "trio": ("trio", "trio.lowlevel", "trio.to_thread", "trio.socket", "trio.abc"),
    "anyio": ("anyio", "anyio.lowlevel", "anyio.to_thread", "anyio.to_process", "anyio.to_interpreter", "anyio.abc"),
}
#: factories whose result (or what ``async with`` binds from it) is an object of a listed class
FACTORIES = {
    "trio.open_nursery": "trio.Nursery",
    "anyio.create_task_group": "anyio.abc.TaskGroup",
    "asyncio.get_running_loop": "asyncio.AbstractEventLoop",
    "asyncio.get_event_loop": "asyncio.AbstractEventLoop",
    "asyncio.new_event_loop": "asyncio.AbstractEventLoop",
}


def _is_coroutine_function(obj: object) -> bool:
    return inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(getattr(obj, "__func__", None))


def _public(module: object) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    return sorted(n for n in names if not n.startswith("_"))


def generate() -> dict[str, object]:
    functions: set[str] = set()
    methods: dict[str, set[str]] = {}
    for library, modules in MODULES.items():
        for module_name in modules:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            for name in _public(module):
                try:
                    obj = getattr(module, name)
                except AttributeError:
                    continue
                dotted = f"{module_name}.{name}"
                if inspect.isclass(obj):
                    found = {
                        attr
                        for attr in dir(obj)
                        if not attr.startswith("_") and _is_coroutine_function(inspect.getattr_static(obj, attr, None))
                    }
                    # a method reached through the MRO (inherited from an ABC) counts as well
                    found |= {attr for attr in dir(obj) if not attr.startswith("_") and _is_coroutine_function(getattr(obj, attr, None))}
                    if found:
                        methods[dotted] = found
                elif callable(obj) and _is_coroutine_function(obj):
                    functions.add(dotted)
    entries = set(functions)
    for cls, names in methods.items():
        entries |= {f"{cls}().{m}" for m in names}
    for factory, cls in FACTORIES.items():
        entries |= {f"{factory}().{m}" for m in methods.get(cls, ())}
    versions = {lib: metadata.version(lib) for lib in ("trio", "anyio")}
    versions["python"] = ".".join(map(str, sys.version_info[:2]))
    return {"generated_by": "tools/library_coroutines.py", "versions": versions, "coroutines": sorted(entries)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the data file is stale")
    args = parser.parse_args(argv)
    text = json.dumps(generate(), indent=1) + "\n"
    if args.check:
        stale = not DATA.exists() or DATA.read_text() != text
        print(f"{DATA}: {'stale' if stale else 'up to date'}")
        return 1 if stale else 0
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text(text)
    print(f"wrote {DATA} ({len(json.loads(text)['coroutines'])} coroutines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
