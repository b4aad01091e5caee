"""Report service on FastAPI: async endpoints plus a thread-pool worker."""
import asyncio
import sqlite3
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import FastAPI

from settings import feature_enabled

app = FastAPI()
cache_lock = threading.Lock()
executor = ThreadPoolExecutor(max_workers=4)
jobs_done = 0


async def notify(user_id: int) -> None:
    await asyncio.sleep(0.1)


async def refresh_cache() -> None:
    await asyncio.sleep(1)


@app.get("/reports/{name}")
async def get_report(name: str):
    db = sqlite3.connect("reports.db")  # a sync driver on the event loop
    rows = db.execute("SELECT body FROM reports WHERE name = ?", (name,)).fetchall()
    template = Path("templates/report.html").read_text()  # file I/O on the event loop
    with open("access.log", "a") as log:  # so is open()
        log.write(name + "\n")
    notify(42)  # the coroutine is created and never awaited: nobody is notified
    return {"rows": rows, "template": template}


@app.post("/reports/{name}/render")
async def render_report(name: str):
    # subprocess.run blocks the loop until the renderer exits
    subprocess.run(["wkhtmltopdf", f"/reports/{name}", f"/tmp/{name}.pdf"], check=True)
    asyncio.create_task(refresh_cache())  # the task may be garbage-collected mid-flight
    with cache_lock:  # a threading lock held across an await: deadlock risk
        await asyncio.sleep(0)
    return {"status": "rendered"}


@app.post("/admin/rebuild")
async def rebuild():
    # asyncio.run inside a running loop raises RuntimeError
    asyncio.run(refresh_cache())
    return {"status": "ok"}


@app.get("/admin/confirm")
async def confirm():
    answer = input("really? ")  # waits for a terminal that a server does not have
    await asyncio.sleep(0)
    return {"answer": answer}


def count_job() -> None:
    global jobs_done
    jobs_done += 1  # runs on the executor's threads: lost updates


@app.get("/features/{name}")
async def feature(name: str):
    # looks harmless, but feature_enabled() reads settings.json from disk on every request
    enabled = feature_enabled(name)
    await asyncio.sleep(0)
    return {"enabled": enabled}


@app.post("/jobs")
async def submit_job():
    executor.submit(count_job)
    await asyncio.sleep(0)
    return {"queued": True}
