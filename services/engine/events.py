"""personalize-events: PutEvents appends to the tracker's dataset group's interactions.

The rows go to the database (one transaction per call); the call then waits for the event
feed (`runtime/event_feed.py`) to append them to the group's in-memory histories, so the
next GetRecommendations for that user sees them without retraining, on this replica at
once and on the others within EVENTS_POLL_SECONDS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import insert
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.engine.models import Interaction
from services.engine.runtime.routes import read_json
from services.engine.wire import coverage
from services.engine.wire.errors import InvalidInput

if TYPE_CHECKING:
    from services.engine.context import EngineContext

# sentAt is stored in a 64-bit column: 1e30 or 2**63 overflowed it (a 500). Epoch seconds
# from 1970 to the end of year 9999 (what a datetime can hold) cover every real event.
MAX_SENT_AT = 253_402_300_799


def _sent_at(event: dict[str, Any], i: int) -> int:
    value = event["sentAt"]  # required and a number (checked against the model)
    if not 0 <= value <= MAX_SENT_AT:
        raise InvalidInput(
            f"eventList[{i}].sentAt must be epoch seconds from 0 to {MAX_SENT_AT}, got {value}."
        )
    return int(value)


def _check_event(event: dict[str, Any], i: int) -> dict[str, Any]:
    """What the model cannot say of an event it has checked: the engine needs an item."""
    if event.get("itemId") is None:
        raise InvalidInput(
            f"eventList[{i}].itemId is required: events are added to the Interactions dataset."
        )
    return event


async def put_events(request: Request) -> Response:
    """POST /events (PutEvents)."""
    ctx: EngineContext = request.app.state.engine
    body = read_json(await request.body())
    coverage.check(service="personalize-events", operation="PutEvents", body=body)
    tracking_id, session_id, events = body["trackingId"], body["sessionId"], body["eventList"]
    user_id = body.get("userId") or session_id
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
