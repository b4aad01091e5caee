"""A module with the two races ASL300 and ASL302 find, driven by a real ThreadPoolExecutor.

``tests/test_race_behaviour.py`` runs it before and after ``--fix --unsafe-fixes``. ``_pause()``
stands for any work between reading shared state and writing it back (a log call, a lookup):
it hands the GIL to another thread exactly where the race window is.
"""
import os
import time
from concurrent.futures import ThreadPoolExecutor

RECORDS = os.path.join(os.path.dirname(__file__), "records.txt")
COUNTS = {}


def _pause():
    time.sleep(0.0005)
    return 1


def handle(i):
    COUNTS["requests"] = COUNTS.get("requests", 0) + _pause()
    with open(RECORDS, "a") as fh:
        for part in (f"record {i:04d} ", "payload ", "end\n"):
            fh.write(part)
            fh.flush()
            _pause()


def serve(n, workers=8):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(handle, range(n)))
