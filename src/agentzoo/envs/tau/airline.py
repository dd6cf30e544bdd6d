"""The tau-bench airline domain's tools, written from its wiki.md and tool_schemas.json.

Every tool is `fn(data, **arguments) -> str` over the episode's data
{"flights": {flight_number: flight}, "reservations": {reservation_id: reservation},
"users": {user_id: user}}. Observations follow upstream tau-bench's tools at commit 59a200c
(tau_bench/envs/airline/tools/*.py, read for the facts the policy leaves open: the ids new
reservations and certificates get, the booking time, how prices are summed); golden_replay_test.jsonl
checks them. As the policy says, the tools do not enforce the policy's rules (cancellation
windows, basic economy, ...): the agent must. Upstream's quirks that change observations or the
data hash are kept and said so below.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from .tools import SHARED, Data, Int, Number, Registry, Str, dumps, json_object

TOOLS = Registry()
TOOLS.include(*SHARED)

Cabin = Literal["basic_economy", "economy", "business"]
FlightType = Literal["one_way", "round_trip"]
YesNo = Literal["yes", "no"]
FlightRef = json_object(flight_number=str, date=str)
Passenger = json_object(first_name=str, last_name=str, dob=str)
Payment = json_object(payment_id=str, amount=Number)

BOOKING_TIME = "2024-05-15T15:00:00"
"""`created_at` of every new reservation: the policy's "current time"."""
NEW_RESERVATION_IDS = ("HATHAT", "HATHAU", "HATHAV")
"""Ids given to new reservations, the first one free (upstream: at most 3 bookings per task)."""
NEW_CERTIFICATE_NUMBERS = (3221322, 3221323, 3221324)
"""Certificates sent get `certificate_<n>`, the first n the user does not have yet."""

AIRPORTS = {"SFO": "San Francisco", "JFK": "New York", "LAX": "Los Angeles", "ORD": "Chicago", "DFW": "Dallas",
            "DEN": "Denver", "SEA": "Seattle", "ATL": "Atlanta", "MIA": "Miami", "BOS": "Boston",
            "PHX": "Phoenix", "IAH": "Houston", "LAS": "Las Vegas", "MCO": "Orlando", "EWR": "Newark",
            "CLT": "Charlotte", "MSP": "Minneapolis", "DTW": "Detroit", "PHL": "Philadelphia",
            "LGA": "LaGuardia"}
"""The fixed answer of list_all_airports (upstream's list, in its order)."""


def _bookable(data: Data, flight: dict[str, Any], cabin: str, seats: int) -> str | None:
    """Price `flight` ({"flight_number", "date", ...}) in `cabin` from the flight database.

    Adds price, origin and destination to `flight` and returns None, or returns the error.
    """
    number, date = flight["flight_number"], flight["date"]
    if number not in data["flights"]:
        return f"Error: flight {number} not found"
    schedule = data["flights"][number]
    if date not in schedule["dates"]:
        return f"Error: flight {number} not found on date {date}"
    day = schedule["dates"][date]
    if day["status"] != "available":
        return f"Error: flight {number} not available on date {date}"
    if day["available_seats"][cabin] < seats:
        return f"Error: not enough seats on flight {number}"
    flight["price"] = day["prices"][cabin]
    flight["origin"] = schedule["origin"]
    flight["destination"] = schedule["destination"]
    return None


def _payment_for_update(data: Data, reservation: dict[str, Any], payment_id: str,
                        total: int | float) -> dict[str, Any] | str:
    """The payment method paying `total` for a change to `reservation`, or the error."""
    methods = data["users"][reservation["user_id"]]["payment_methods"]
    if payment_id not in methods:
        return "Error: payment method not found"
    method = methods[payment_id]
    if method["source"] == "certificate":
        return "Error: certificate cannot be used to update reservation"
    if method["source"] == "gift_card" and method["amount"] < total:
        return "Error: gift card balance is not enough"
    return method


# --- read-only tools ---------------------------------------------------------------------------


@TOOLS.read
def get_reservation_details(data: Data, reservation_id: Str) -> str:
    reservation = data["reservations"].get(reservation_id)
    # Upstream says "user not found" for an unknown reservation; kept, as agents read it.
    return "Error: user not found" if reservation is None else dumps(reservation)


@TOOLS.read
def get_user_details(data: Data, user_id: Str) -> str:
    user = data["users"].get(user_id)
    return "Error: user not found" if user is None else dumps(user)


@TOOLS.read
def list_all_airports(data: Data) -> str:
    return dumps(AIRPORTS)


def _on_date(flight: dict[str, Any], date: str) -> dict[str, Any]:
    """The flight without its calendar, with that date's status, seats and prices."""
    found = {key: value for key, value in flight.items() if key != "dates"}
    found.update(flight["dates"][date])
    return found


@TOOLS.read
def search_direct_flight(data: Data, origin: Str, destination: Str, date: Str) -> str:
    """Flights from origin to destination that are "available" on that date."""
    results = []
    for flight in data["flights"].values():
        if (flight["origin"] == origin and flight["destination"] == destination and date in flight["dates"]
                and flight["dates"][date]["status"] == "available"):
            results.append(_on_date(flight, date))
    return dumps(results)


@TOOLS.read
def search_onestop_flight(data: Data, origin: Str, destination: Str, date: Str) -> str:
    """Pairs [first leg, second leg] via one airport, both "available", each with a "date".

    As upstream: a first leg arriving "+1" (next day) moves the second leg to day + 1 of May 2024
    (spelt without zero padding); legs connect when the first arrival time is not later than the
    second departure time, compared as text; and the second leg shows the status, seats and prices
    of the *search* date, not its own (so it fails when the second flight does not fly that day).
    """
    results = []
    flights = data["flights"]
    for first in flights.values():
        if first["origin"] != origin:
            continue
        for second in flights.values():
            if second["destination"] != destination or first["destination"] != second["origin"]:
                continue
            second_date = f"2024-05-{int(date[-2:]) + 1}" if "+1" in first["scheduled_arrival_time_est"] else date
            if first["scheduled_arrival_time_est"] > second["scheduled_departure_time_est"]:
                continue
            if date not in first["dates"] or second_date not in second["dates"]:
                continue
            if (first["dates"][date]["status"] != "available"
                    or second["dates"][second_date]["status"] != "available"):
                continue
            leg1 = _on_date(first, date)
            leg1["date"] = date
            leg2 = _on_date(second, date)
            leg2["date"] = second_date
            results.append([leg1, leg2])
    return dumps(results)


# --- tools that change the data ------------------------------------------------------------------


@TOOLS.write
def book_reservation(data: Data, user_id: Str, origin: Str, destination: Str, flight_type: FlightType,
                     cabin: Cabin, flights: list[FlightRef], passengers: list[Passenger],
                     payment_methods: list[Payment], total_baggages: Int, nonfree_baggages: Int,
                     insurance: YesNo) -> str:
    """Book a reservation, paid exactly by the given methods.

    Price: each flight's current price in the cabin per passenger, $30 per passenger for
    insurance, $50 per non-free bag. Gift cards are debited, a certificate used is removed
    whatever its remaining amount; seat counts are not updated (as upstream).
    """
    users, reservations = data["users"], data["reservations"]
    if user_id not in users:
        return "Error: user not found"
    user = users[user_id]
    reservation_id = next((rid for rid in NEW_RESERVATION_IDS[:-1] if rid not in reservations),
                          NEW_RESERVATION_IDS[-1])
    reservation = {"reservation_id": reservation_id, "user_id": user_id, "origin": origin,
                   "destination": destination, "flight_type": flight_type, "cabin": cabin,
                   "flights": copy.deepcopy(flights), "passengers": copy.deepcopy(passengers),
                   "payment_history": copy.deepcopy(payment_methods), "created_at": BOOKING_TIME,
                   "total_baggages": total_baggages, "nonfree_baggages": nonfree_baggages,
                   "insurance": insurance}
    total: int | float = 0
    for flight in reservation["flights"]:
        error = _bookable(data, flight, cabin, len(passengers))
        if error:
            return error
        total += flight["price"] * len(passengers)
    if insurance == "yes":
        total += 30 * len(passengers)
    total += 50 * nonfree_baggages
    methods = user["payment_methods"]
    for payment in payment_methods:
        payment_id = payment["payment_id"]
        if payment_id not in methods:
            return f"Error: payment method {payment_id} not found"
        method = methods[payment_id]
        if method["source"] in ("gift_card", "certificate") and method["amount"] < payment["amount"]:
            return f"Error: not enough balance in payment method {payment_id}"
    paid = sum(payment["amount"] for payment in payment_methods)
    if paid != total:
        return f"Error: payment amount does not add up, total price is {total}, but paid {paid}"
    for payment in payment_methods:
        payment_id = payment["payment_id"]
        source = methods[payment_id]["source"]
        if source == "gift_card":
            methods[payment_id]["amount"] -= payment["amount"]
        elif source == "certificate":
            del methods[payment_id]
    reservations[reservation_id] = reservation
    user["reservations"].append(reservation_id)
    return dumps(reservation)


@TOOLS.write
def cancel_reservation(data: Data, reservation_id: Str) -> str:
    """Cancel the whole reservation: a negative entry per payment, status "cancelled".

    The tool does not check the policy's cancellation rules and credits no payment method.
    """
    reservation = data["reservations"].get(reservation_id)
    if reservation is None:
        return "Error: reservation not found"
    history = reservation["payment_history"]
    history.extend([{"payment_id": p["payment_id"], "amount": -p["amount"]} for p in history])
    reservation["status"] = "cancelled"
    return dumps(reservation)


@TOOLS.write
def send_certificate(data: Data, user_id: Str, amount: Number) -> str:
    users = data["users"]
    if user_id not in users:
        return "Error: user not found"
    methods = users[user_id]["payment_methods"]
    for number in NEW_CERTIFICATE_NUMBERS:
        payment_id = f"certificate_{number}"
        if payment_id not in methods:
            methods[payment_id] = {"source": "certificate", "amount": amount, "id": payment_id}
            return f"Certificate {payment_id} added to user {user_id} with amount {amount}."
    # Upstream returns None here (and its Env then fails); an observation is kinder.
    return "Error: too many certificates"


@TOOLS.write
def update_reservation_baggages(data: Data, reservation_id: Str, total_baggages: Int, nonfree_baggages: Int,
                                payment_id: Str) -> str:
    """Set the bag counts; $50 per non-free bag beyond those already paid for."""
    reservation = data["reservations"].get(reservation_id)
    if reservation is None:
        return "Error: reservation not found"
    total = 50 * max(0, nonfree_baggages - reservation["nonfree_baggages"])
    method = _payment_for_update(data, reservation, payment_id, total)
    if isinstance(method, str):
        return method
    reservation["total_baggages"] = total_baggages
    reservation["nonfree_baggages"] = nonfree_baggages
    if method["source"] == "gift_card":
        method["amount"] -= total
    if total != 0:
        reservation["payment_history"].append({"payment_id": payment_id, "amount": total})
    return dumps(reservation)


@TOOLS.write
def update_reservation_flights(data: Data, reservation_id: Str, cabin: Cabin, flights: list[FlightRef],
                               payment_id: Str) -> str:
    """Replace the reservation's flights (all of them), paying or refunding the difference.

    A flight already in the reservation (same number and date) keeps its booked price when the
    cabin is the reservation's; any other is priced now. As upstream, the reservation's "cabin"
    field is not changed and the seat counts are not updated.
    """
    reservation = data["reservations"].get(reservation_id)
    if reservation is None:
        return "Error: reservation not found"
    seats = len(reservation["passengers"])
    new_flights = copy.deepcopy(flights)
    total: int | float = 0
    for flight in new_flights:
        kept = None
        if cabin == reservation["cabin"]:
            kept = next((old for old in reservation["flights"]
                         if old["flight_number"] == flight["flight_number"] and old["date"] == flight["date"]), None)
        if kept is not None:
            flight["price"] = kept["price"]
            flight["origin"] = kept["origin"]
            flight["destination"] = kept["destination"]
        else:
            error = _bookable(data, flight, cabin, seats)
            if error:
                return error
        total += flight["price"] * seats
    total -= sum(old["price"] for old in reservation["flights"]) * seats
    method = _payment_for_update(data, reservation, payment_id, total)
    if isinstance(method, str):
        return method
    if method["source"] == "gift_card":
        method["amount"] -= total
    reservation["flights"] = new_flights
    if total != 0:
        reservation["payment_history"].append({"payment_id": payment_id, "amount": total})
    return dumps(reservation)


@TOOLS.write
def update_reservation_passengers(data: Data, reservation_id: Str, passengers: list[Passenger]) -> str:
    """Replace the passengers' details; their number cannot change."""
    reservation = data["reservations"].get(reservation_id)
    if reservation is None:
        return "Error: reservation not found"
    if len(passengers) != len(reservation["passengers"]):
        return "Error: number of passengers does not match"
    reservation["passengers"] = copy.deepcopy(passengers)
    return dumps(reservation)
