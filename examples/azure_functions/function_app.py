"""Order intake on Azure Functions (Python v2 programming model)."""
import json
import logging
import time

import azure.functions as func
import requests

app = func.FunctionApp()

ORDERS_LOG = "orders.jsonl"
processed_count = 0


@app.route(route="orders", methods=["POST"])
async def create_order(req: func.HttpRequest) -> func.HttpResponse:
    order = req.get_json()
    # Blocks the worker's event loop: every other request on this instance waits.
    price = requests.get(f"https://pricing.internal/api/{order['sku']}", timeout=5).json()
    time.sleep(0.2)  # "rate limiting" that stalls the whole event loop
    return func.HttpResponse(json.dumps({"price": price}), mimetype="application/json")


@app.route(route="health")
async def health(req: func.HttpRequest) -> func.HttpResponse:
    # async for no reason: nothing is awaited, so the loop gains nothing.
    return func.HttpResponse("ok")


@app.queue_trigger(arg_name="msg", queue_name="orders", connection="AzureWebJobsStorage")
def record_order(msg: func.QueueMessage) -> None:
    # Sync functions run on the worker's thread pool (PYTHON_THREADPOOL_THREAD_COUNT):
    # two invocations at once interleave their records in the same file ...
    global processed_count
    with open(ORDERS_LOG, "a") as fh:
        fh.write(msg.get_body().decode())
        fh.write("\n")
    # ... and lose increments of the module-level counter.
    processed_count += 1
    logging.info("processed %d orders", processed_count)
