"""Inventory API on Flask, served by `gunicorn --workers 2 --threads 8 app:app`."""
from flask import Flask, jsonify, request

app = Flask(__name__)

stock = {"widget": 10, "gadget": 3}
audit = open("audit.log", "a")


def reserve(sku: str, quantity: int) -> int:
    # Called from a threaded view: two requests can both read 1 and both write 0.
    stock[sku] = stock.get(sku, 0) - quantity
    return stock[sku]


@app.post("/reserve/<sku>")
def reserve_view(sku: str):
    quantity = int(request.args.get("quantity", 1))
    left = reserve(sku, quantity)
    # One file object shared by every thread: writes and positions interleave.
    audit.write(f"reserved {quantity} {sku}\n")
    return jsonify({"sku": sku, "left": left})


@app.get("/stock")
def stock_view():
    return jsonify(stock)
