"""Every statistic on a hand-built dataset, with values worked out by hand, on SQLite and MariaDB.

The week of 27–30 March 2026 in Europe/Berlin: summer time starts on Sunday 29 March at 01:00
UTC, so the local hour of a chat depends on which side of the switch it started; R2 starts
on Friday 23:30 UTC, which is already Saturday in Berlin; R6 starts one microsecond before
Berlin's window ends; R7 only belongs to the UTC window; R8 to neither.

    R1  AI only, closed by the user
    R2  handoff (phrase), Alice answers after 30 s, replies after 10 s, closes after 300 s
    R3  handoff (button), Bob after 90.5 s, replies 20 s, leaves after 100 s; the AI again;
        handoff (tool_call), Alice after 45 s, replies 5 s, still in the chat
    R4  a human asked for while nobody was online (no_agent, phrase); the user leaves an email
        (closed as `followup`)
    R5  handoff (phrase), the user gives up in the queue after 600 s (closed as `abandoned`)
    R6  handoff (ungrounded), still waiting
    R9  Alice joins from the AI without a handoff, replies after 30 s, closes after 120 s
    R10 handoff (button), Bob after 10 s, says nothing, leaves after 60 s; handoff (phrase),
        Bob after 40 s, replies 20 s, closes after 180 s
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from db import models, queries, ratings, rollup_buckets, rollups, room_log, tables, transcripts
from db.engine import Database
from db.migrate import upgrade
from db.models import EventKind, RoomStatus, Sender
from db.rollup_folder import RollupFolder
from db.room_log import History, MessageDraft, Transition
from db.sqltime import LocalWindow, OffsetSegment, offset_segments
from db.stats import compute_exact_stats, compute_stats
from db.stats.rollup import tiling
from tests.conftest import migrate_to
from tests.stats_bound import assert_percentile

BERLIN = LocalWindow.of(date(2026, 3, 27), date(2026, 3, 30), "Europe/Berlin")
UTC_WEEK = LocalWindow.of(date(2026, 3, 27), date(2026, 3, 30), "UTC")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


AUTHORS = {"user": "User", "ai": "Assistant", "system": "Tandem"}


@dataclass
class Chat:
    """One room's history in time order, written through the room log like the service's.

    Only the inputs are spelled out here (who said what when, which transition when); the
    seqs, counters and spans are the room log's to write, and the numbers the tests expect
    are worked out by hand, not derived from these rows."""

    room_id: str
    created_at: datetime
    steps: list[MessageDraft | Transition] = field(default_factory=list)

    def say(self, sender: str, when: str, text: str = "…", agent_id: int | None = None) -> Chat:
        self.steps.append(
            MessageDraft(
                room_id=self.room_id,
                sender=Sender(sender),
                author=AUTHORS.get(sender, "A"),
                text=text,
                agent_id=agent_id,
                created_at=at(when),
            )
        )
        return self

    def move(
        self,
        kind: str,
        when: str,
        to: str,
        reason: str,
        by: int | None = None,
        *,
        holder: int | None = None,
    ) -> Chat:
        """A transition: its system notice, the end of the open span, and its event."""
        self.steps.append(
            Transition(
                room_id=self.room_id,
                kind=EventKind(kind),
                reason=reason,
                notice=f"{kind} notice",
                at=at(when),
                to_status=RoomStatus(to),
                holder=holder,
                by=by,
            )
        )
        return self

    def no_agent(self, when: str, reason: str) -> Chat:
        self.steps.append(
            Transition(
                room_id=self.room_id,
                kind=EventKind.no_agent,
                reason=reason,
                notice="No agents are online right now.",
                at=at(when),
            )
        )
        return self

    def history(self) -> History:
        return History(self.room_id, self.created_at, list(self.steps))


def dataset(alice: int, bob: int) -> list[Chat]:
    r1 = Chat("r1", at("2026-03-27 10:00:00"))
    r1.say("user", "2026-03-27 10:00:05").say("ai", "2026-03-27 10:00:07")
    r1.say("user", "2026-03-27 10:01:00").say("ai", "2026-03-27 10:01:02")
    r1.move("closed", "2026-03-27 10:02:00", "closed", "user")

    r2 = Chat("r2", at("2026-03-27 23:30:00"))
    r2.say("user", "2026-03-27 23:30:10", "I want to speak to a human")
    r2.move("handoff", "2026-03-27 23:30:10", "waiting", "phrase")
    r2.move("joined", "2026-03-27 23:30:40", "agent", "agent", alice, holder=alice)
    r2.say("agent", "2026-03-27 23:30:50", "Hi, Alice here", alice)
    r2.say("user", "2026-03-27 23:31:20").say("agent", "2026-03-27 23:31:30", "Done", alice)
    r2.move("closed", "2026-03-27 23:35:40", "closed", "agent", alice, holder=alice)

    r3 = Chat("r3", at("2026-03-28 08:00:00"))
    r3.say("user", "2026-03-28 08:00:20", "Where is my PARCEL? It is late")
    r3.move("handoff", "2026-03-28 08:00:30", "waiting", "button")
    r3.move("joined", "2026-03-28 08:02:00.500000", "agent", "agent", bob, holder=bob)
    r3.say("agent", "2026-03-28 08:02:20.500000", "Bob here", bob)
    r3.move("left", "2026-03-28 08:03:40.500000", "ai", "agent_left", bob)
    r3.say("user", "2026-03-28 08:04:00").say("ai", "2026-03-28 08:04:02")
    r3.move("handoff", "2026-03-28 08:05:00", "waiting", "tool_call")
    r3.move("joined", "2026-03-28 08:05:45", "agent", "agent", alice, holder=alice)
    r3.say("agent", "2026-03-28 08:05:50", "Alice here", alice)

    r4 = Chat("r4", at("2026-03-29 00:30:00"))
    r4.say("user", "2026-03-29 00:31:00", "talk to agent").no_agent("2026-03-29 00:31:00", "phrase")
    r4.say("user", "2026-03-29 00:32:00").say("ai", "2026-03-29 00:32:03")
    r4.move("closed", "2026-03-29 00:40:00", "closed", "followup")

    r5 = Chat("r5", at("2026-03-29 12:00:00"))
    r5.say("user", "2026-03-29 12:00:20", "a human please")
    r5.move("handoff", "2026-03-29 12:00:20", "waiting", "phrase")
    r5.say("user", "2026-03-29 12:05:00", "hello? 100% lost")
    r5.move("closed", "2026-03-29 12:10:20", "closed", "abandoned")

    r6 = Chat("r6", at("2026-03-30 21:59:59.999999"))
    r6.say("user", "2026-03-30 22:00:30").say("ai", "2026-03-30 22:00:33")
    r6.move("handoff", "2026-03-30 22:01:00", "waiting", "ungrounded")

    r7 = Chat("r7", at("2026-03-30 22:30:00"))
    r7.say("user", "2026-03-30 22:30:05").say("ai", "2026-03-30 22:30:07")

    r8 = Chat("r8", at("2026-03-26 10:00:00"))
    r8.say("user", "2026-03-26 10:00:05", "hello? an older chat").say("ai", "2026-03-26 10:00:07")

    r9 = Chat("r9", at("2026-03-28 15:00:00"))
    r9.say("user", "2026-03-28 15:00:10").say("ai", "2026-03-28 15:00:12")
    r9.move("joined", "2026-03-28 15:01:00", "agent", "agent", alice, holder=alice)
    r9.say("agent", "2026-03-28 15:01:30", "Can I help?", alice).say("user", "2026-03-28 15:02:00")
    r9.move("closed", "2026-03-28 15:03:00", "closed", "agent", alice, holder=alice)

    r10 = Chat("r10", at("2026-03-29 09:00:00"))
    r10.say("user", "2026-03-29 09:00:05")
    r10.move("handoff", "2026-03-29 09:00:10", "waiting", "button")
    r10.move("joined", "2026-03-29 09:00:20", "agent", "agent", bob, holder=bob)
    r10.move("left", "2026-03-29 09:01:20", "ai", "agent_left", bob)
    r10.say("user", "2026-03-29 09:02:00").say("ai", "2026-03-29 09:02:02")
    r10.say("user", "2026-03-29 09:03:00", "talk to agent")
    r10.move("handoff", "2026-03-29 09:03:00", "waiting", "phrase")
    r10.move("joined", "2026-03-29 09:03:40", "agent", "agent", bob, holder=bob)
    r10.say("agent", "2026-03-29 09:04:00", "Bob again", bob)
    r10.move("closed", "2026-03-29 09:06:40", "closed", "agent", bob, holder=bob)
    return [r1, r2, r3, r4, r5, r6, r7, r8, r9, r10]


@dataclass
class Loaded:
    db: Database
    alice: int
    bob: int


@pytest.fixture(params=["live", "migrated"])
async def loaded(database_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Loaded]:
    """The dataset as the room service writes it today ("live"), or as it wrote it before
    revision 0002 (no spans, no message counters: dropped by migrating down), then migrated:
    the statistics must not tell them apart. "live" rooms are folded into the rollups by the
    fold (`fold_rooms`); "migrated" ones by migration 0004's backfill."""
    db = Database(database_url)
    await upgrade(db.engine)
    async with db.write() as session:
        alice = await queries.create_agent(
            session, email="alice@example.com", name="Alice", role="agent", password_hash="x"
        )
        bob = await queries.create_agent(
            session, email="bob@example.com", name="Bob", role="agent", password_hash="x"
        )
    assert alice.id is not None and bob.id is not None
    async with db.write() as session:
        histories = [chat.history() for chat in dataset(alice.id, bob.id)]
        await room_log.write_histories(session, histories=histories)
    if request.param == "migrated":
        await migrate_to(db.engine, "0001_initial", down=True)
        await upgrade(db.engine)
    else:
        async with db.write() as session:
            await session.run_sync(lambda s: fold_all(s.connection()))
    yield Loaded(db, alice.id, bob.id)
    await db.dispose()


def fold_all(connection: sa.Connection, *, force: bool = False) -> int:
    rooms = [row[0] for row in connection.execute(sa.select(tables.rooms_t.c.id))]
    rollups.take_lease(connection)
    return rollups.fold_rooms(connection, rooms, force=force)


def percentiles(count: int, p50: float, p90: float, mean: float, top: float) -> dict[str, Any]:
    return {"count": count, "p50": p50, "p90": p90, "mean": mean, "max": top}


async def test_every_metric_in_berlin_across_the_dst_switch(loaded: Loaded) -> None:
    stats = (await compute_exact_stats(loaded.db, window=BERLIN)).model_dump(
        mode="json", by_alias=True
    )

    assert stats["range"] == {
        "from": "2026-03-27",
        "to": "2026-03-30",
        "tz": "Europe/Berlin",
        "start_utc": "2026-03-26T23:00:00Z",
        "end_utc": "2026-03-30T22:00:00Z",
        "utc_offsets": [["2026-03-26T23:00:00Z", 3600], ["2026-03-29T01:00:00Z", 7200]],
    }
    assert stats["conversations"] == {
        "started": 8,  # r1 r2 r3 r4 r5 r6 r9 r10 (r7 starts after Berlin's midnight, r8 before)
        "ai_only": 2,  # r1, r4 (a no-agent notice is not a handoff)
        "handed_off": 6,
        "served_by_agent": 4,  # r2 r3 r9 r10
        "closed": 6,
        "containment_rate": 0.25,
        "handoff_rate": 0.75,
        # r1 user; r2, r9, r10 agent; r4 left an email; r5's user was gone
        "closed_by_reason": {"abandoned": 1, "agent": 3, "followup": 1, "user": 1},
    }
    assert stats["handoffs"] == {
        "requests": 7,
        "conversations": 5,
        "by_reason": [
            {"reason": "button", "requests": 2, "conversations": 2, "rate": 0.25},
            {"reason": "phrase", "requests": 3, "conversations": 3, "rate": 0.375},
            {"reason": "tool_call", "requests": 1, "conversations": 1, "rate": 0.125},
            {"reason": "ungrounded", "requests": 1, "conversations": 1, "rate": 0.125},
        ],
        "answered": 5,
        "abandoned": 1,
        "still_waiting": 1,
        "withdrawn": 0,
    }
    assert stats["no_agent"] == {
        "requests": 1,
        "conversations": 1,
        "rate": 0.125,
        "by_reason": [{"reason": "phrase", "requests": 1, "conversations": 1, "rate": 0.125}],
    }
    # waits 10, 30, 40, 45, 90.5: nearest rank 3 of 5 and 5 of 5
    assert stats["wait_seconds"] == percentiles(5, 40.0, 90.5, 43.1, 90.5)
    assert [b["count"] for b in stats["wait_histogram"]] == [1, 3, 1, 0, 0, 0, 0]
    assert stats["wait_histogram"][1] == {
        "label": "30–60 s",
        "min_seconds": 30,
        "max_seconds": 60,
        "count": 3,
    }
    # first replies 5, 10, 20, 20, 30 (r10's silent first stint has none: its window ends at
    # Bob's leave, so Bob's later message belongs to the second stint)
    assert stats["first_response_seconds"] == percentiles(5, 20.0, 30.0, 17.0, 30.0)
    # stints that ended: 60, 100, 120, 180, 300 (Alice is still in r3)
    assert stats["handle_time_seconds"] == percentiles(5, 120.0, 300.0, 152.0, 300.0)
    # closed rooms: 120, 180, 340, 400, 600, 620
    assert stats["duration_seconds"] == percentiles(6, 340.0, 620.0, 376.667, 620.0)
    assert stats["messages"] == {
        "total": 51,
        "by_sender": {"user": 16, "ai": 7, "agent": 6, "system": 22},
        "per_conversation": {"user": 2.0, "ai": 0.875, "agent": 0.75, "system": 2.75},
    }
    assert stats["agents"] == [
        {
            "agent_id": loaded.alice,
            "name": "Alice",
            "chats": 3,
            "first_response_p50": 10.0,  # 5, 10, 30
            "handle_time_p50": 120.0,  # 120, 300
        },
        {
            "agent_id": loaded.bob,
            "name": "Bob",
            "chats": 3,  # r3, and r10 twice
            "first_response_p50": 20.0,  # 20, 20
            "handle_time_p50": 100.0,  # 60, 100, 180
        },
    ]
    assert stats["by_day"] == [
        {"date": "2026-03-27", "ai_only": 1, "human": 0, "total": 1},
        {"date": "2026-03-28", "ai_only": 0, "human": 3, "total": 3},  # r2 is Saturday here
        {"date": "2026-03-29", "ai_only": 1, "human": 2, "total": 3},
        {"date": "2026-03-30", "ai_only": 0, "human": 1, "total": 1},
    ]
    cells = {
        (day, hour): n
        for day, hours in enumerate(stats["by_hour_of_week"])
        for hour, n in enumerate(hours)
        if n
    }
    assert cells == {
        (4, 11): 1,  # r1 Friday 11:00 (CET)
        (5, 0): 1,  # r2 Saturday 00:30
        (5, 9): 1,  # r3
        (5, 16): 1,  # r9
        (6, 1): 1,  # r4 Sunday 01:30, still CET
        (6, 11): 1,  # r10 Sunday 11:00, already CEST
        (6, 14): 1,  # r5
        (0, 23): 1,  # r6 Monday 23:59:59.999999, not Tuesday
    }


async def test_the_same_days_in_utc_move_and_add_conversations(loaded: Loaded) -> None:
    stats = await compute_exact_stats(loaded.db, window=UTC_WEEK)
    assert stats.conversations.started == 9  # r7 starts on Monday 22:30 UTC
    assert [(d.date.isoformat(), d.ai_only, d.human) for d in stats.by_day] == [
        ("2026-03-27", 1, 1),  # r2 is still Friday in UTC
        ("2026-03-28", 0, 2),
        ("2026-03-29", 1, 2),
        ("2026-03-30", 1, 1),
    ]
    assert stats.range.utc_offsets == [("2026-03-27T00:00:00Z", 0)]
    assert stats.by_hour_of_week[4][23] == 1  # r2: Friday 23:30
    assert stats.by_hour_of_week[6][0] == 1  # r4: Sunday 00:30
    assert stats.by_hour_of_week[6][9] == 1  # r10: Sunday 09:00


async def test_an_empty_range_has_zeros_and_no_percentiles(loaded: Loaded) -> None:
    stats = await compute_exact_stats(
        loaded.db, window=LocalWindow.of(date(2026, 1, 1), date(2026, 1, 2))
    )
    assert stats.conversations.started == 0
    assert stats.conversations.containment_rate is None
    assert stats.wait_seconds.model_dump() == {
        "count": 0, "p50": None, "p90": None, "mean": None, "max": None
    }  # fmt: skip
    assert stats.messages.per_conversation == {
        "user": None,
        "ai": None,
        "agent": None,
        "system": None,
    }
    assert stats.agents == [] and stats.handoffs.by_reason == []
    assert [d.total for d in stats.by_day] == [0, 0]
    assert sum(map(sum, stats.by_hour_of_week)) == 0


async def test_conversation_rows_for_the_csv(loaded: Loaded) -> None:
    async with loaded.db.session() as session:
        rows = [
            r
            async for batch in transcripts.conversation_rows(session, window=BERLIN)
            for r in batch
        ]
    assert [r.id for r in rows] == ["r1", "r2", "r3", "r9", "r4", "r10", "r5", "r6"]
    by_id = {r.id: r for r in rows}
    r3 = by_id["r3"]
    assert (r3.status, r3.handed_off, r3.first_handoff_reason, r3.wait_seconds) == (
        "agent", True, "button", 90.5
    )  # fmt: skip
    assert r3.agent_ids == tuple(sorted((loaded.alice, loaded.bob)))
    assert r3.messages == {"user": 2, "ai": 1, "agent": 2, "system": 5}
    assert r3.duration_seconds is None and r3.closed_at is None
    r9 = by_id["r9"]
    assert (r9.handed_off, r9.first_handoff_reason, r9.wait_seconds) == (True, None, None)
    assert r9.duration_seconds == 180.0
    r5 = by_id["r5"]
    assert (r5.first_handoff_reason, r5.wait_seconds, r5.agent_ids) == ("phrase", None, ())
    assert (by_id["r1"].handed_off, by_id["r4"].handed_off) == (False, False)
    assert by_id["r2"].duration_seconds == 340.0


async def test_search_is_case_insensitive_and_literal(loaded: Loaded) -> None:
    async with loaded.db.session() as session:
        found, more = await transcripts.search_transcripts(
            session, text="parcel", window=BERLIN, limit=10
        )
        assert [(h.room_id, h.seq, h.sender.value, h.matches) for h in found] == [
            ("r3", 1, "user", 1)
        ]
        assert "PARCEL" in found[0].snippet and not more
        hello, _ = await transcripts.search_transcripts(
            session, text="HELLO?", window=BERLIN, limit=10
        )
        assert [h.room_id for h in hello] == ["r5"]  # r8 says it too, but before the window
        percent, _ = await transcripts.search_transcripts(
            session, text="100%", window=BERLIN, limit=10
        )
        assert [h.room_id for h in percent] == ["r5"]  # % is a character, not a wildcard
        talk, more = await transcripts.search_transcripts(
            session, text="talk to agent", window=BERLIN, limit=1
        )
        assert [h.room_id for h in talk] == ["r10"] and more  # newest first; r4 did not fit


async def test_a_whole_transcript(loaded: Loaded) -> None:
    async with loaded.db.session() as session:
        record = await transcripts.transcript(session, room_id="r3")
        assert await transcripts.transcript(session, room_id="nope") is None
    assert record is not None
    assert record.room.status.value == "agent" and record.room.agent is not None
    assert record.room.agent.name == "Alice"
    assert [m.seq for m in record.messages] == list(range(1, 11))
    assert [(e.kind.value, e.reason) for e in record.events] == [
        ("created", None),
        ("handoff", "button"),
        ("joined", "agent"),
        ("left", "agent_left"),
        ("handoff", "tool_call"),
        ("joined", "agent"),
    ]
    assert record.events[2].agent is not None and record.events[2].agent.name == "Bob"


def test_offsets_follow_each_dst_switch() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start, end = at("2026-01-01 00:00:00"), at("2027-01-01 00:00:00")
    assert offset_segments(start, end, berlin) == (
        OffsetSegment(start, 3600),
        OffsetSegment(at("2026-03-29 01:00:00"), 7200),
        OffsetSegment(at("2026-10-25 01:00:00"), 3600),
    )
    assert offset_segments(start, end, ZoneInfo("UTC")) == (OffsetSegment(start, 0),)
    week = LocalWindow.of(date(2026, 3, 27), date(2026, 3, 30), berlin)
    assert week.end - week.start == timedelta(days=4, hours=-1)  # one hour less: DST
    assert week.previous().last_day == date(2026, 3, 26)
    assert week.previous().first_day == date(2026, 3, 23)
    with pytest.raises(ValueError):
        LocalWindow.of(date(2026, 3, 2), date(2026, 3, 1))


# ---------------------------------------------------------------- rollups against the exact path

WINDOWS = {
    "berlin": BERLIN,
    "utc": UTC_WEEK,
    "kolkata": LocalWindow.of(date(2026, 3, 26), date(2026, 3, 31), "Asia/Kolkata"),  # +5:30
    "kathmandu": LocalWindow.of(date(2026, 3, 28), date(2026, 3, 29), "Asia/Kathmandu"),  # +5:45
    "empty": LocalWindow.of(date(2026, 1, 1), date(2026, 1, 2)),
    "long": LocalWindow.of(date(2026, 1, 1), date(2026, 6, 30), "America/New_York"),
}

PERCENTILE_FIELDS = {"p50", "p90", "first_response_p50", "handle_time_p50"}


def assert_within_bound(sketched: Any, exact: Any, path: str = "") -> None:
    """Equal everywhere, except percentiles: within the rollups' bound of the exact ones
    (tests/stats_bound.py)."""
    if isinstance(exact, dict):
        assert sketched.keys() == exact.keys(), path
        for key in exact:
            if key == "percentile_relative_error":
                continue
            if key in PERCENTILE_FIELDS and exact[key] is not None:
                assert_percentile(
                    sketched[key], exact[key], exact_rounded=True, what=f"{path}.{key}"
                )
            else:
                assert_within_bound(sketched[key], exact[key], f"{path}.{key}")
    elif isinstance(exact, list):
        assert len(sketched) == len(exact), path
        for i, (a, b) in enumerate(zip(sketched, exact, strict=True)):
            assert_within_bound(a, b, f"{path}[{i}]")
    else:
        assert sketched == exact, path


@pytest.mark.parametrize("name", list(WINDOWS))
async def test_rollups_give_every_figure_of_the_exact_path(loaded: Loaded, name: str) -> None:
    window = WINDOWS[name]
    exact = (await compute_exact_stats(loaded.db, window=window)).model_dump(mode="json")
    sketched = (await compute_stats(loaded.db, window=window)).model_dump(mode="json")
    assert sketched["percentile_relative_error"] == rollup_buckets.ALPHA == 0.02
    assert exact["percentile_relative_error"] == 0.0
    assert_within_bound(sketched, exact)


async def test_rollup_percentiles_on_the_hand_worked_numbers(loaded: Loaded) -> None:
    stats = await compute_stats(loaded.db, window=BERLIN)
    # waits 10, 30, 40, 45, 90.5: p50 40, p90 90.5 (the exact max caps the top bucket)
    assert stats.wait_seconds.count == 5 and stats.wait_seconds.mean == 43.1
    assert_percentile(stats.wait_seconds.p50, 40.0, what="wait p50")
    assert_percentile(stats.wait_seconds.p90, 90.5, what="wait p90")
    assert stats.wait_seconds.max == 90.5
    assert_percentile(stats.duration_seconds.p50, 340.0, what="duration p50")
    assert [a.chats for a in stats.agents] == [3, 3]


async def rollup_rows(db: Database) -> list[tuple[Any, ...]]:
    async with db.session() as session:
        result = await session.execute(
            sa.select(models.stats_rollups).order_by(*models.stats_rollups.primary_key.columns)
        )
        return [tuple(row) for row in result if row.n]


async def test_folding_again_changes_nothing(loaded: Loaded) -> None:
    before = await rollup_rows(loaded.db)
    assert before
    async with loaded.db.write() as session:
        assert await session.run_sync(lambda s: fold_all(s.connection())) == 0  # unchanged
        assert await session.run_sync(lambda s: fold_all(s.connection(), force=True)) == 10
    assert await rollup_rows(loaded.db) == before
    assert await rollups.rebuild_rollups(loaded.db) == 10
    assert await rollup_rows(loaded.db) == before


async def test_rebuild_repairs_a_range_and_leaves_the_rest(loaded: Loaded) -> None:
    before = await rollup_rows(loaded.db)
    async with loaded.db.write() as session:  # damage: a day lost, another counted twice
        await session.execute(
            sa.delete(models.stats_rollups).where(models.stats_rollups.c.metric == "rooms")
        )
        await session.execute(
            sa.update(models.stats_rollups)
            .where(models.stats_rollups.c.metric == "messages")
            .values(n=models.stats_rollups.c.n * 2)
        )
    folded = await rollups.rebuild_rollups(
        loaded.db, at("2026-03-28 00:00:00"), at("2026-03-29 00:00:00")
    )
    assert folded == 10  # widened to the 28-day block 12 March – 8 April: all of them
    after = {row[:5]: row[5] for row in await rollup_rows(loaded.db)}
    expected = {row[:5]: row[5] for row in before}
    assert after == expected
    assert await rollups.rebuild_rollups(loaded.db) == 10
    assert await rollup_rows(loaded.db) == before


async def test_the_stats_rebuild_command(
    loaded: Loaded, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from api import cli
    from api.config import get_settings

    async with loaded.db.write() as session:
        await session.execute(sa.delete(models.stats_rollups))
    monkeypatch.setenv("TANDEM_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        first = await cli.stats_rebuild(first=date(2026, 3, 27), last=date(2026, 3, 30))
        assert first == 10  # 27–30 March UTC, widened to its 28-day block (12 Mar – 8 Apr)
        assert (await compute_stats(loaded.db, window=BERLIN)).conversations.started == 8
        assert await cli.stats_rebuild(first=None, last=None) == 10
    finally:
        get_settings.cache_clear()
    sketched = (await compute_stats(loaded.db, window=BERLIN)).model_dump(mode="json")
    exact = (await compute_exact_stats(loaded.db, window=BERLIN)).model_dump(mode="json")
    assert_within_bound(sketched, exact)


async def test_two_processes_folding_at_once_count_each_room_once(
    loaded: Loaded, database_url: str
) -> None:
    """A chat written now (the sweep sees it), folded by two folders on two engines at once,
    as two API processes would: the lease makes them take turns, the second finds nothing."""
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    chat = Chat("now1", now).say("user", str(now + timedelta(seconds=1))[:19])
    chat.move("handoff", str(now + timedelta(seconds=2))[:19], "waiting", "button")
    chat.move("joined", str(now + timedelta(seconds=12))[:19], "agent", "agent", loaded.bob)
    async with loaded.db.write() as session:
        await room_log.write_histories(session, histories=[chat.history()])
    other = Database(database_url)
    try:
        done = await asyncio.gather(
            RollupFolder(loaded.db).fold_now(), RollupFolder(other).fold_now()
        )
    finally:
        await other.dispose()
    assert sorted(done) == [0, 1]
    today = now.date()
    window = LocalWindow.of(today - timedelta(days=1), today + timedelta(days=1))
    sketched = (await compute_stats(loaded.db, window=window)).model_dump(mode="json")
    exact = (await compute_exact_stats(loaded.db, window=window)).model_dump(mode="json")
    assert sketched["conversations"]["started"] == 1 and sketched["wait_seconds"]["count"] == 1
    assert_within_bound(sketched, exact)
    before = await rollup_rows(loaded.db)
    assert await RollupFolder(loaded.db).fold_now() == 0
    assert await rollup_rows(loaded.db) == before


async def test_messages_nobody_folded_are_found_by_the_backstop(loaded: Loaded) -> None:
    """Messages another process committed to an open room (and never handed to a folder): a
    round without the backstop does not look for them, the backstop round counts them, once;
    a room this process names is folded without it."""
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    chat = Chat("open1", now).say("user", str(now + timedelta(seconds=1))[:19])
    async with loaded.db.write() as session:
        await room_log.write_histories(session, histories=[chat.history()])
    assert await RollupFolder(loaded.db).fold_now() == 1
    today = now.date()
    window = LocalWindow.of(today - timedelta(days=1), today + timedelta(days=1))

    async def total() -> int:
        return (await compute_stats(loaded.db, window=window)).messages.total

    assert await total() == 1

    async def another_process_says(*texts: str) -> None:
        async with loaded.db.write() as session:
            locked = await room_log.lock_rooms(session, room_ids=["open1"])
            drafts = [MessageDraft("open1", Sender.user, "User", text) for text in texts]
            await room_log.append_messages(session, rooms=locked, drafts=drafts)

    await another_process_says("Hello?", "Anyone?")
    assert await RollupFolder(loaded.db).fold_now(backstop=False) == 0
    assert await total() == 1
    assert await RollupFolder(loaded.db).fold_now() == 1  # the backstop finds it
    assert await total() == 3

    await another_process_says("Still there?")
    named = RollupFolder(loaded.db)
    named.notify(["open1"])  # as the writer of this process does after its commit
    assert await named.fold_now(backstop=False) == 1
    assert await total() == 4
    assert await RollupFolder(loaded.db).fold_now() == 0
    exact = await compute_exact_stats(loaded.db, window=window)
    assert exact.messages.total == 4


def test_a_window_is_tiled_by_the_largest_blocks() -> None:
    day, week, block = 86_400, 7 * 86_400, 28 * 86_400
    start = 733 * block - 5 * 3600 - 900  # 5 h 15 min before a 28-day block (and day) starts
    end = start + 95 * day
    pieces = tiling(start, end)
    assert [(span, (b - a) // span) for span, a, b in pieces] == [
        (900, 21),  # 5 h 15 min of slots up to midnight UTC
        (block, 3),
        (week, 1),
        (day, 3),
        (900, 75),  # 18 h 45 min into the last UTC day
    ]
    assert pieces[0][1] == start and pieces[-1][2] == end
    assert all(p[2] == q[1] for p, q in itertools.pairwise(pieces))
    assert all(a % span == 0 == b % span for span, a, b in pieces)


# ---------------------------------------------------------------- transfers


async def test_a_transfer_ends_one_stint_and_starts_the_next(database_url: str) -> None:
    """R1: handoff; Alice joins after 20 s, replies after 10 s and transfers to Bob after
    60 s; Bob replies 5 s later, sends it back to the queue after 30 s; Alice joins again
    after 15 s, replies 4 s later, and an admin (Ada) takes over 40 s after that; Ada closes
    after 50 s without a word. Three transfers (agent, queue, takeover), four stints."""
    db = Database(database_url)
    await upgrade(db.engine)
    ids = {}
    async with db.write() as session:
        for name in ("Alice", "Bob", "Ada"):
            agent = await queries.create_agent(
                session, email=f"{name}@example.com", name=name, role="agent", password_hash="x"
            )
            assert agent.id is not None
            ids[name] = agent.id
    alice, bob, ada = ids["Alice"], ids["Bob"], ids["Ada"]
    r1 = Chat("t1", at("2026-03-28 10:00:00"))
    r1.say("user", "2026-03-28 10:00:05", "a human please")
    r1.move("handoff", "2026-03-28 10:00:10", "waiting", "button")
    r1.move("joined", "2026-03-28 10:00:30", "agent", "agent", alice, holder=alice)
    r1.say("agent", "2026-03-28 10:00:40", "Alice here", alice)
    r1.move("transferred", "2026-03-28 10:01:30", "agent", "agent", bob, holder=bob)
    r1.say("agent", "2026-03-28 10:01:35", "Bob here", bob)
    r1.move("transferred", "2026-03-28 10:02:05", "waiting", "queue", bob)
    r1.move("joined", "2026-03-28 10:02:20", "agent", "agent", alice, holder=alice)
    r1.say("agent", "2026-03-28 10:02:24", "Alice again", alice)
    r1.move("transferred", "2026-03-28 10:03:04", "agent", "takeover", ada, holder=ada)
    r1.move("closed", "2026-03-28 10:03:54", "closed", "agent", ada, holder=ada)
    try:
        async with db.write() as session:
            await room_log.write_histories(session, histories=[r1.history()])
        async with db.write() as session:
            await session.run_sync(lambda s: fold_all(s.connection()))
        exact = await compute_exact_stats(db, window=UTC_WEEK)
        stats = exact.model_dump(mode="json")
        assert stats["transfers"] == {
            "total": 3,
            "by_reason": [
                {"reason": "agent", "requests": 1, "conversations": 1, "rate": 1.0},
                {"reason": "queue", "requests": 1, "conversations": 1, "rate": 1.0},
                {"reason": "takeover", "requests": 1, "conversations": 1, "rate": 1.0},
            ],
        }
        # Stints: Alice 60 s (reply 10), Bob 35 s (reply 5), Alice 44 s (reply 4), Ada 50 s.
        assert stats["handle_time_seconds"] == percentiles(4, 44.0, 60.0, 47.25, 60.0)
        assert stats["first_response_seconds"] == percentiles(3, 5.0, 10.0, 6.333, 10.0)
        # The handoff's wait is the only wait: the time back in the queue is not a handoff's.
        assert stats["wait_seconds"] == percentiles(1, 20.0, 20.0, 20.0, 20.0)
        assert stats["handoffs"]["answered"] == 1
        chats = {a["name"]: a["chats"] for a in stats["agents"]}
        assert chats == {"Alice": 2, "Bob": 1, "Ada": 1}
        sketched = (await compute_stats(db, window=UTC_WEEK)).model_dump(mode="json")
        assert_within_bound(sketched, stats)
    finally:
        await db.dispose()


# ---------------------------------------------------------------- ratings

RATED = {"r1": 5, "r2": 4, "r9": 2, "r10": 5, "r4": 1}
"""R1 and R4: the AI's (no agent held them); R2 and R9: Alice's; R10: Bob's (his last join)."""


def figures(count: int, average: float | None, csat: float | None, scores: list[int]) -> Any:
    return {"count": count, "average": average, "csat": csat, "by_score": scores}


@pytest.fixture
async def rated(database_url: str) -> AsyncIterator[Loaded]:
    """The dataset folded by the live fold, then rated now: after the rooms were closed and
    folded, as users rate them."""
    db = Database(database_url)
    await upgrade(db.engine)
    async with db.write() as session:
        alice = await queries.create_agent(
            session, email="alice@example.com", name="Alice", role="agent", password_hash="x"
        )
        bob = await queries.create_agent(
            session, email="bob@example.com", name="Bob", role="agent", password_hash="x"
        )
    assert alice.id is not None and bob.id is not None
    async with db.write() as session:
        histories = [chat.history() for chat in dataset(alice.id, bob.id)]
        await room_log.write_histories(session, histories=histories)
    folder = RollupFolder(db)
    await folder.fold_now()
    async with db.write() as session:
        await session.run_sync(lambda s: fold_all(s.connection()))
    before = await compute_stats(db, window=BERLIN)
    assert before.ratings is not None and before.ratings.count == 0
    for room_id, score in RATED.items():
        async with db.write() as session:
            comment = "slow" if room_id == "r9" else None
            await ratings.rate_room(
                session, room_id=room_id, score=score, comment=comment, at=datetime.now(UTC)
            )
    assert await folder.fold_now() == len(RATED)  # the live fold picks the rated rooms up
    yield Loaded(db, alice.id, bob.id)
    await db.dispose()


async def test_ratings_by_hand_on_the_exact_path(rated: Loaded) -> None:
    stats = (await compute_exact_stats(rated.db, window=BERLIN)).model_dump(mode="json")
    got = stats["ratings"]
    assert {k: got[k] for k in ("count", "average", "csat", "by_score")} == figures(
        5, 3.4, 0.6, [1, 1, 0, 1, 2]
    )
    assert got["response_rate"] == round(5 / 6, 4)  # six closed conversations in the week
    assert got["by_agent"] == [
        {"agent_id": rated.alice, "name": "Alice", **figures(2, 3.0, 0.5, [0, 1, 0, 1, 0])},
        {"agent_id": None, "name": "Assistant", **figures(2, 3.0, 0.5, [1, 0, 0, 0, 1])},
        {"agent_id": rated.bob, "name": "Bob", **figures(1, 5.0, 1.0, [0, 0, 0, 0, 1])},
    ]
    # R2 (Friday 23:30 UTC) is Saturday in Berlin, with R9; R4 is Sunday 01:30 local.
    assert got["by_day"] == [
        {"date": "2026-03-27", **figures(1, 5.0, 1.0, [0, 0, 0, 0, 1])},
        {"date": "2026-03-28", **figures(2, 3.0, 0.5, [0, 1, 0, 1, 0])},
        {"date": "2026-03-29", **figures(2, 3.0, 0.5, [1, 0, 0, 0, 1])},
        {"date": "2026-03-30", **figures(0, None, None, [0, 0, 0, 0, 0])},
    ]


@pytest.mark.parametrize("name", list(WINDOWS))
async def test_rollups_give_the_ratings_of_the_exact_path(rated: Loaded, name: str) -> None:
    window = WINDOWS[name]
    exact = (await compute_exact_stats(rated.db, window=window)).model_dump(mode="json")
    sketched = (await compute_stats(rated.db, window=window)).model_dump(mode="json")
    assert_within_bound(sketched, exact)
    if name == "berlin":
        assert sketched["ratings"]["count"] == 5


async def test_a_room_is_rated_once_closed_and_once_only(rated: Loaded) -> None:
    for room_id, code in (("r1", "already_rated"), ("r3", "not_closed"), ("r6", "not_closed")):
        with pytest.raises(ratings.RatingRefused) as refused:
            async with rated.db.write() as session:
                await ratings.rate_room(
                    session, room_id=room_id, score=3, comment=None, at=datetime.now(UTC)
                )
        assert refused.value.code == code
    async with rated.db.session() as session:
        record = await transcripts.transcript(session, room_id="r9")
    assert record is not None and record.rating is not None
    assert (record.rating.score, record.rating.comment) == (2, "slow")
    assert record.rating.agent is not None and record.rating.agent.name == "Alice"
    assert await RollupFolder(rated.db).fold_now() == 0  # refused: nothing changed


async def test_a_rating_is_credited_to_whoever_held_the_chat_last(database_url: str) -> None:
    """The last stint's agent: a join, or (team routing) a transfer to an agent or a takeover;
    a transfer back to the queue credits nobody new."""
    db = Database(database_url)
    await upgrade(db.engine)
    try:
        async with db.write() as session:
            alice = await queries.create_agent(
                session, email="a@example.com", name="Alice", role="agent", password_hash="x"
            )
            bob = await queries.create_agent(
                session, email="b@example.com", name="Bob", role="agent", password_hash="x"
            )
        assert alice.id is not None and bob.id is not None
        first = Chat("t1", at("2026-03-27 10:00:00")).say("user", "2026-03-27 10:00:05")
        first.move("joined", "2026-03-27 10:01:00", "agent", "agent", alice.id, holder=alice.id)
        second = Chat("t2", at("2026-03-27 10:00:00")).say("user", "2026-03-27 10:00:05")
        second.move("joined", "2026-03-27 10:01:00", "agent", "agent", alice.id, holder=alice.id)
        second.move("transferred", "2026-03-27 10:02:00", "agent", "agent", bob.id, holder=bob.id)
        third = Chat("t3", at("2026-03-27 10:00:00")).say("user", "2026-03-27 10:00:05")
        third.move("joined", "2026-03-27 10:01:00", "agent", "agent", alice.id, holder=alice.id)
        third.move("transferred", "2026-03-27 10:02:00", "agent", "agent", bob.id, holder=bob.id)
        third.move("transferred", "2026-03-27 10:03:00", "waiting", "queue", bob.id)
        async with db.write() as session:
            histories = [first.history(), second.history(), third.history()]
            await room_log.write_histories(session, histories=histories)
            assert await ratings.credited_agent(session, room_id="t1") == alice.id
            assert await ratings.credited_agent(session, room_id="t2") == bob.id
            assert await ratings.credited_agent(session, room_id="t3") == bob.id
    finally:
        await db.dispose()
