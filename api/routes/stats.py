"""Statistics and transcript exports for analysts (and admins); the shapes are in docs/metrics.md.

    GET /api/stats?from=YYYY-MM-DD&to=YYYY-MM-DD&tz=Europe/Berlin   the metrics, JSON
    GET /api/stats/live                                             the queue and team now
    GET /api/stats/conversations.csv?from=&to=&tz=                  one row per conversation
    GET /api/stats/transcripts?q=text&from=&to=&tz=&limit=          search transcripts
    GET /api/rooms/{id}/transcript.json                             one whole transcript

`from`/`to` are local days in `tz`, both included (default: the 30 days ending today);
a conversation belongs to the range its `created_at` falls in.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, BeforeValidator, Field

from api.deps import CurrentAgent, StatsReader, TandemDep
from api.responses import errors
from db import queries, transcripts
from db.engine import Database
from db.models import Role, utcnow
from db.sqltime import EARLIEST_DAY, LATEST_DAY, MAX_DAYS, LocalWindow
from db.stats import Stats, compute_stats
from db.stats.live import LiveStats, live_stats

router = APIRouter(prefix="/api", tags=["stats"])

DEFAULT_DAYS = 30
CSV_COLUMNS = (
    "conversation_id",
    "created_at_utc",
    "created_at_local",
    "status",
    "handed_off",
    "first_handoff_reason",
    "wait_seconds",
    "agents",
    "messages_user",
    "messages_ai",
    "messages_agent",
    "messages_system",
    "messages_total",
    "closed_at_utc",
    "duration_seconds",
    "rating",
    "rating_comment",
    "transfers",
)


def _unprocessable(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


def _iso_day(value: object) -> object:
    """Only `YYYY-MM-DD`: pydantic would otherwise read `to=0.0` as a Unix time."""
    if isinstance(value, str) and not ISO_DAY.fullmatch(value):
        raise ValueError("a day must be written YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def period(
    from_: Annotated[Day | None, Query(alias="from", description="First local day")] = None,
    to: Annotated[Day | None, Query(description="Last local day, included")] = None,
    tz: Annotated[str, Query(max_length=64, description="IANA time zone")] = "UTC",
) -> LocalWindow:
    """The local days asked for, as a UTC window with its DST offsets; 422 when it makes no
    sense (unknown zone, a day out of range, `from` after `to`, longer than MAX_DAYS)."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        detail = f"Unknown time zone {tz!r}: use an IANA name like Europe/Berlin."
        raise _unprocessable(detail) from None
    if any(day is not None and not EARLIEST_DAY <= day <= LATEST_DAY for day in (from_, to)):
        raise _unprocessable(f"`from` and `to` must lie between {EARLIEST_DAY} and {LATEST_DAY}.")
    today = datetime.now(zone).date()
    last = to or (today if from_ is None else max(from_, today))
    first = from_ or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise _unprocessable("`from` is after `to`.")
    if (last - first).days + 1 > MAX_DAYS:
        raise _unprocessable(f"The range is longer than {MAX_DAYS} days.")
    return LocalWindow.of(first, last, zone)


Period = Annotated[LocalWindow, Depends(period)]


@router.get("/stats", responses=errors(401, 403, 422))
async def stats(_: StatsReader, tandem: TandemDep, window: Period) -> Stats:
    return await compute_stats(tandem.db, window=window)


@router.get("/stats/live", responses=errors(401, 403))
async def stats_live(_: StatsReader, tandem: TandemDep) -> LiveStats:
    """Waiting now, the longest current wait, chats held, agents online: current state."""
    async with tandem.db.session() as session:
        return await live_stats(session, now=utcnow(), presence=tandem.presence.window)


# ---------------------------------------------------------------- CSV


def _csv_line(values: list[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading `'` (OWASP CSV
    injection): agent names and reasons are typed by people. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _iso(moment: datetime | None, zone: ZoneInfo | None = None) -> str:
    if moment is None:
        return ""
    if zone is not None:
        return moment.astimezone(zone).isoformat(timespec="seconds")
    return moment.isoformat().replace("+00:00", "Z")


async def _csv_lines(db: Database, window: LocalWindow) -> AsyncIterator[str]:
    yield _csv_line(list(CSV_COLUMNS))
    async with db.session() as session:
        names = await queries.agent_names(session)
        async for batch in transcripts.conversation_rows(session, window=window):
            chunk = io.StringIO()
            writer = csv.writer(chunk, lineterminator="\r\n")
            for row in batch:
                agents = sorted(names.get(i, f"agent {i}") for i in row.agent_ids)
                cells = [
                    row.id,
                    _iso(row.created_at),
                    _iso(row.created_at, window.tz),
                    row.status,
                    "yes" if row.handed_off else "no",
                    row.first_handoff_reason or "",
                    "" if row.wait_seconds is None else row.wait_seconds,
                    "; ".join(agents),
                    *[row.messages[s] for s in transcripts.SENDERS],
                    sum(row.messages.values()),
                    _iso(row.closed_at),
                    "" if row.duration_seconds is None else row.duration_seconds,
                    "" if row.rating is None else row.rating,
                    row.rating_comment or "",
                    row.transfers,
                ]
                writer.writerow([_cell(value) for value in cells])
            yield chunk.getvalue()


@router.get(
    "/stats/conversations.csv",
    response_class=StreamingResponse,
    responses=errors(401, 403, 422),
)
async def conversations_csv(_: StatsReader, tandem: TandemDep, window: Period) -> StreamingResponse:
    """One row per conversation of the range, oldest first, streamed as it is read."""
    filename = f"tandem-conversations-{window.first_day}-{window.last_day}.csv"
    return StreamingResponse(
        _csv_lines(tandem.db, window),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# ---------------------------------------------------------------- search and transcripts


class SearchResult(BaseModel):
    query: str
    from_: date = Field(serialization_alias="from")
    to: date
    results: list[transcripts.SearchHit]
    truncated: bool
    """More conversations matched than `limit`."""


@router.get("/stats/transcripts", responses=errors(401, 403, 422))
async def search(
    _: StatsReader,
    tandem: TandemDep,
    window: Period,
    q: Annotated[str, Query(min_length=1, max_length=200, description="Text to find")],
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> SearchResult:
    """Conversations of the range with a message containing `q`, newest first, with a snippet."""
    text = q.strip()
    if not text:
        raise _unprocessable("The search text is empty.")
    async with tandem.db.session() as session:
        found, more = await transcripts.search_transcripts(
            session, text=text, window=window, limit=limit
        )
    return SearchResult(
        query=text, from_=window.first_day, to=window.last_day, results=found, truncated=more
    )


@router.get(
    "/rooms/{room_id}/transcript.json",
    response_model=transcripts.Transcript,
    responses=errors(401, 403, 404),
)
async def transcript_json(room_id: str, agent: CurrentAgent, tandem: TandemDep) -> Response:
    """The whole record of one conversation (room, messages, events) as a JSON download:
    for analysts and admins, and for agents who held that chat (it is their own work)."""
    async with tandem.db.session() as session:
        if agent.role not in (Role.analyst, Role.admin):
            assert agent.id is not None
            if not await transcripts.took_part(session, room_id=room_id, agent_id=agent.id):
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN, "Agents read only the transcripts of their chats."
                )
        found = await transcripts.transcript(session, room_id=room_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Room not found.")
    return Response(
        content=found.model_dump_json(indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="transcript-{room_id}.json"'},
    )
