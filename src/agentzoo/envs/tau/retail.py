"""The tau-bench retail domain's tools, written from its wiki.md and tool_schemas.json.

Every tool is `fn(data, **arguments) -> str` over the episode's data
{"orders": {order_id: order}, "products": {product_id: product}, "users": {user_id: user}}.
Observations (texts, error messages, the key order of the JSON shown, float rounding) follow
upstream tau-bench's tools at commit 59a200c (tau_bench/envs/retail/tools/*.py, read for the facts
the policy leaves open); golden_replay_*.jsonl checks them. Where upstream's behaviour is odd it
is kept and said so here, because the data hash must come out the same.
"""

from __future__ import annotations

from typing import Any, Literal

from .tools import SHARED, Data, Registry, Str, dumps

TOOLS = Registry()
TOOLS.include(*SHARED)

CancelReason = Literal["no longer needed", "ordered by mistake"]


def _address(address1: str, address2: str, city: str, state: str, country: str, zip: str) -> dict[str, str]:
    # This key order (state before country) is the one upstream writes, unlike the stored data's.
    return {"address1": address1, "address2": address2, "city": city, "state": state, "country": country,
            "zip": zip}


def _user_payment_methods(data: Data, order: dict[str, Any]) -> dict[str, Any]:
    return data["users"][order["user_id"]]["payment_methods"]


def _missing_item(order: dict[str, Any], item_ids: list[str]) -> str | None:
    """The first of `item_ids` asked for more often than the order holds it, if any."""
    held = [item["item_id"] for item in order["items"]]
    for item_id in item_ids:
        if item_ids.count(item_id) > held.count(item_id):
            return item_id
    return None


def _first_item(order: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(item for item in order["items"] if item["item_id"] == item_id)


def _price_difference(data: Data, order: dict[str, Any], item_ids: list[str],
                      new_item_ids: list[str]) -> float | str:
    """Sum of (new price - old price) over the pairs, or the error observation.

    Each new item must be an available variant of the same product as the old one. The sum is
    accumulated pair by pair from 0, as upstream does: the float it gives is stored as is.
    """
    difference: float = 0
    for item_id, new_item_id in zip(item_ids, new_item_ids):
        item = _first_item(order, item_id)
        variants = data["products"][item["product_id"]]["variants"]
        if new_item_id not in variants or not variants[new_item_id]["available"]:
            return f"Error: new item {new_item_id} not found or available"
        difference += variants[new_item_id]["price"] - item["price"]
    return difference


# --- read-only tools ---------------------------------------------------------------------------


@TOOLS.read
def find_user_id_by_email(data: Data, email: Str) -> str:
    """The id of the user with this email (case-insensitive)."""
    wanted = email.lower()
    for user_id, user in data["users"].items():
        if user["email"].lower() == wanted:
            return user_id
    return "Error: user not found"


@TOOLS.read
def find_user_id_by_name_zip(data: Data, first_name: Str, last_name: Str, zip: Str) -> str:
    """The id of the first user with this name (case-insensitive) and zip code (exact)."""
    first, last = first_name.lower(), last_name.lower()
    for user_id, user in data["users"].items():
        name = user["name"]
        if (name["first_name"].lower() == first and name["last_name"].lower() == last
                and user["address"]["zip"] == zip):
            return user_id
    return "Error: user not found"


@TOOLS.read
def get_order_details(data: Data, order_id: Str) -> str:
    order = data["orders"].get(order_id)
    return "Error: order not found" if order is None else dumps(order)


@TOOLS.read
def get_product_details(data: Data, product_id: Str) -> str:
    product = data["products"].get(product_id)
    return "Error: product not found" if product is None else dumps(product)


@TOOLS.read
def get_user_details(data: Data, user_id: Str) -> str:
    user = data["users"].get(user_id)
    return "Error: user not found" if user is None else dumps(user)


@TOOLS.read
def list_all_product_types(data: Data) -> str:
    """{product name: product id}, sorted by name (a later product of the same name wins)."""
    by_name = {product["name"]: product["product_id"] for product in data["products"].values()}
    return dumps(dict(sorted(by_name.items())))


# --- tools that change the data ------------------------------------------------------------------


@TOOLS.write
def cancel_pending_order(data: Data, order_id: Str, reason: CancelReason) -> str:
    """Cancel a pending order: refund every payment; gift cards are credited at once."""
    order = data["orders"].get(order_id)
    if order is None:
        return "Error: order not found"
    if order["status"] != "pending":
        return "Error: non-pending order cannot be cancelled"
    if reason not in ("no longer needed", "ordered by mistake"):
        return "Error: invalid reason"
    refunds = []
    for payment in order["payment_history"]:
        method_id = payment["payment_method_id"]
        refunds.append({"transaction_type": "refund", "amount": payment["amount"], "payment_method_id": method_id})
        if "gift_card" in method_id:
            card = _user_payment_methods(data, order)[method_id]
            card["balance"] = round(card["balance"] + payment["amount"], 2)
    order["status"] = "cancelled"
    order["cancel_reason"] = reason
    order["payment_history"].extend(refunds)
    return dumps(order)


@TOOLS.write
def exchange_delivered_order_items(data: Data, order_id: Str, item_ids: list[Str], new_item_ids: list[Str],
                                   payment_method_id: Str) -> str:
    """Ask to exchange items of a delivered order for other variants of the same products.

    Nothing is charged yet: the order records the request and the (rounded) price difference.
    """
    order = data["orders"].get(order_id)
    if order is None:
        return "Error: order not found"
    if order["status"] != "delivered":
        return "Error: non-delivered order cannot be exchanged"
    missing = _missing_item(order, item_ids)
    if missing is not None:
        return f"Error: {missing} not found"
    if len(item_ids) != len(new_item_ids):
        return "Error: the number of items to be exchanged should match"
    difference = _price_difference(data, order, item_ids, new_item_ids)
    if isinstance(difference, str):
        return difference
    difference = round(difference, 2)
    methods = _user_payment_methods(data, order)
    if payment_method_id not in methods:
        return "Error: payment method not found"
    method = methods[payment_method_id]
    if method["source"] == "gift_card" and method["balance"] < difference:
        return "Error: insufficient gift card balance to pay for the price difference"
    order["status"] = "exchange requested"
    order["exchange_items"] = sorted(item_ids)
    order["exchange_new_items"] = sorted(new_item_ids)
    order["exchange_payment_method_id"] = payment_method_id
    order["exchange_price_difference"] = difference
    return dumps(order)


@TOOLS.write
def modify_pending_order_address(data: Data, order_id: Str, address1: Str, address2: Str, city: Str, state: Str,
                                 country: Str, zip: Str) -> str:
    order = data["orders"].get(order_id)
    if order is None:
        return "Error: order not found"
    if order["status"] != "pending":
        return "Error: non-pending order cannot be modified"
    order["address"] = _address(address1, address2, city, state, country, zip)
    return dumps(order)


@TOOLS.write
def modify_pending_order_items(data: Data, order_id: Str, item_ids: list[Str], new_item_ids: list[Str],
                               payment_method_id: Str) -> str:
    """Swap items of a pending order for other variants, paying or refunding the difference now.

    As upstream: the difference is not rounded where it is recorded (only a gift card's balance
    is), and each swap takes the first item that still has the old id, so the same id listed
    twice changes two items.
    """
    order = data["orders"].get(order_id)
    if order is None:
        return "Error: order not found"
    if order["status"] != "pending":
        return "Error: non-pending order cannot be modified"
    missing = _missing_item(order, item_ids)
    if missing is not None:
        return f"Error: {missing} not found"
    if len(item_ids) != len(new_item_ids):
        return "Error: the number of items to be exchanged should match"
    difference = _price_difference(data, order, item_ids, new_item_ids)
    if isinstance(difference, str):
        return difference
    methods = _user_payment_methods(data, order)
    if payment_method_id not in methods:
        return "Error: payment method not found"
    method = methods[payment_method_id]
    if method["source"] == "gift_card" and method["balance"] < difference:
        return "Error: insufficient gift card balance to pay for the new item"
    order["payment_history"].append({"transaction_type": "payment" if difference > 0 else "refund",
                                     "amount": abs(difference), "payment_method_id": payment_method_id})
    if method["source"] == "gift_card":
        method["balance"] = round(method["balance"] - difference, 2)
    for item_id, new_item_id in zip(item_ids, new_item_ids):
        item = _first_item(order, item_id)
        variant = data["products"][item["product_id"]]["variants"][new_item_id]
        item["item_id"] = new_item_id
        item["price"] = variant["price"]
        item["options"] = dict(variant["options"])
    order["status"] = "pending (item modified)"
    return dumps(order)


@TOOLS.write
def modify_pending_order_payment(data: Data, order_id: Str, payment_method_id: Str) -> str:
    """Pay a pending order with another method: a new payment, and a refund of the old one."""
    order = data["orders"].get(order_id)
    if order is None:
        return "Error: order not found"
    if order["status"] != "pending":
        return "Error: non-pending order cannot be modified"
    methods = _user_payment_methods(data, order)
    if payment_method_id not in methods:
        return "Error: payment method not found"
    history = order["payment_history"]
    if len(history) > 1 or history[0]["transaction_type"] != "payment":
        return "Error: there should be exactly one payment for a pending order"
    old_method_id = history[0]["payment_method_id"]
    if old_method_id == payment_method_id:
        return "Error: the new payment method should be different from the current one"
    amount = history[0]["amount"]
    method = methods[payment_method_id]
    if method["source"] == "gift_card" and method["balance"] < amount:
        return "Error: insufficient gift card balance to pay for the order"
    history.append({"transaction_type": "payment", "amount": amount, "payment_method_id": payment_method_id})
    history.append({"transaction_type": "refund", "amount": amount, "payment_method_id": old_method_id})
    if method["source"] == "gift_card":
        method["balance"] = round(method["balance"] - amount, 2)
    if "gift_card" in old_method_id:
        old_method = methods[old_method_id]
        old_method["balance"] = round(old_method["balance"] + amount, 2)
    return dumps(order)


@TOOLS.write
def modify_user_address(data: Data, user_id: Str, address1: Str, address2: Str, city: Str, state: Str,
                        country: Str, zip: Str) -> str:
    user = data["users"].get(user_id)
    if user is None:
        return "Error: user not found"
    user["address"] = _address(address1, address2, city, state, country, zip)
    return dumps(user)


@TOOLS.write
def return_delivered_order_items(data: Data, order_id: Str, item_ids: list[Str], payment_method_id: Str) -> str:
    """Ask to return items of a delivered order, refunded to the original method or a gift card."""
    order = data["orders"].get(order_id)
    if order is None:
        return "Error: order not found"
    if order["status"] != "delivered":
        return "Error: non-delivered order cannot be returned"
    if payment_method_id not in _user_payment_methods(data, order):
        return "Error: payment method not found"
    if "gift_card" not in payment_method_id and payment_method_id != order["payment_history"][0]["payment_method_id"]:
        return "Error: payment method should be either the original payment method or a gift card"
    if _missing_item(order, item_ids) is not None:
        return "Error: some item not found"
    order["status"] = "return requested"
    order["return_items"] = sorted(item_ids)
    order["return_payment_method_id"] = payment_method_id
    return dumps(order)
