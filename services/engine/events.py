"""personalize-events: PutEvents appends to the tracker's dataset group's interactions.

The rows go to the database (one transaction per call); the call then waits for the event
feed (`runtime/event_feed.py`) to append them to the group's in-memory histories, so the
next GetRecommendations for that user sees them without retraining, on this replica at
once and on the others within EVENTS_POLL_SECONDS.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.engine.models import Interaction
from services.engine.runtime.routes import read_json
from services.engine.wire import validate
from services.engine.wire.errors import InvalidInput

if TYPE_CHECKING:
    from services.engine.context import EngineContext

MAX_EVENTS = 10
# sentAt is stored in a 64-bit column: 1e30 or 2**63 overflowed it (a 500). Epoch seconds
# from 1970 to the end of year 9999 (what a datetime can hold) cover every real event.
MAX_SENT_AT = 253_402_300_799


def _sent_at(event: dict[str, Any], i: int) -> int:
    value = event.get("sentAt")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"eventList[{i}].sentAt is required and must be epoch seconds.")
    if not 0 <= value <= MAX_SENT_AT:
        raise InvalidInput(
            f"eventList[{i}].sentAt must be epoch seconds from 0 to {MAX_SENT_AT}, got {value}."
        )
    return int(value)


def _check_event(event: Any, i: int) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise InvalidInput(f"eventList[{i}] must be an object.")
    where = f"eventList[{i}]"
    validate.string(event, "eventId", min_len=1, max_len=256)
    validate.required_string(event, "eventType", min_len=1, max_len=256)
    if validate.string(event, "itemId", min_len=1, max_len=256) is None:
        raise InvalidInput(
            f"{where}.itemId is required: events are added to the Interactions dataset."
        )
    validate.string(event, "recommendationId", min_len=1, max_len=40)
    value = event.get("eventValue")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise InvalidInput(f"{where}.eventValue must be a number.")
    properties = validate.string(event, "properties", min_len=1, max_len=1024)
    if properties is not None:
        try:
            json.loads(properties)
        except ValueError:
            raise InvalidInput(f"{where}.properties must be a string holding JSON.") from None
    impression = event.get("impression")
    if impression is not None and (
        not isinstance(impression, list)
        or not 1 <= len(impression) <= 25
        or not all(isinstance(x, str) and 1 <= len(x) <= 256 for x in impression)
    ):
        raise InvalidInput(f"{where}.impression must hold 1 to 25 item ids.")
    return event


async def put_events(request: Request) -> Response:
    """POST /events (PutEvents)."""
    ctx: EngineContext = request.app.state.engine
    body = read_json(await request.body())
    tracking_id = validate.required_string(body, "trackingId", min_len=1, max_len=256)
    session_id = validate.required_string(body, "sessionId", min_len=1, max_len=256)
    user_id = validate.string(body, "userId", min_len=1, max_len=256) or session_id
    events = body.get("eventList")
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        raise InvalidInput(f"eventList must hold 1 to {MAX_EVENTS} events.")
    checked = [_check_event(event, i) for i, event in enumerate(events)]
    rows = [
        {
            "user_id": user_id,
            "item_id": event["itemId"],
            "timestamp": _sent_at(event, i),
            "event_type": event["eventType"],
            # A float column: a JSON integer past 2**63 would not fit SQLite's binding.
            "event_value": None if event.get("eventValue") is None else float(event["eventValue"]),
        }
        for i, event in enumerate(checked)
    ]
    group_arn = await ctx.serving.tracker_group(tracking_id)
    if group_arn is None:
        raise InvalidInput(
            f"The trackingId {tracking_id} does not belong to an ACTIVE event tracker."
        )
    async with ctx.sessionmaker() as session:
        await session.execute(
            insert(Interaction),
            [{**row, "dataset_group_arn": group_arn, "from_events": True} for row in rows],
        )
        await session.commit()
    await ctx.serving.feed.catch_up()
    ctx.metrics.events.inc(len(rows))
    return Response(b"", status_code=200)


routes = [Route("/events", put_events, methods=["POST"], name="PutEvents")]
