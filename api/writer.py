"""The message write path: one writer per process, many messages per transaction.

A message may only be delivered after it is durably stored, and a commit per message caps
throughput at the disk's commit rate, so throughput has to come from batching. Senders put a
draft on a queue and await a future; the writer takes everything queued (up to `batch_max`) as
one batch and stores it through the room log (`db/room_log.py`: one multi-row INSERT) in one
transaction (group commit). The writer only stores: a sender's future resolves with its
`StoredMessage` once the batch has committed, and publishing is the room service's job.

On MySQL/MariaDB a second batch may prepare while the first commits; `Turn` keeps inserts in
batch order (api/write_order.py). Futures resolve in the order batches took their seqs
(`SeqOrder`: a ticket taken when a batch's rows are inserted under its rooms' locks), not the
order they were queued nor the order their commits come back (with group commit, MariaDB may
answer a later commit first): a batch whose commit failed and was retried inserts again after
the next one, which then holds the lower seqs. A caller that publishes as its future resolves
(the room service does, from a done-callback) therefore publishes each room's messages in seq
order. A batch the database refuses is stored again draft by draft, so one bad draft fails
alone instead of taking everyone's messages with it. The database's durability settings are
left as they are.

What a batch costs is mostly fixed (statements, commit, the CPU around them), so two things
keep batches few and cheap. Repeated client_ids (a client retrying) are rare: a batch inserts
without looking them up and lets the unique (client_id, room_id) index catch a repeat; the
refused attempt rolls back and the batch is stored again with the look-up first, as batches
are for `LOOK_UP_AFTER_REPEAT_SECONDS` afterwards. And batches start at least `batch_interval`
apart under load (a message after a quiet spell starts its batch at once), so at a steady rate
each commit carries the messages of a whole interval instead of the few that arrived while the
previous commit was on its way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from api.batch_rooms import KnownRooms, RoomsMoved, StoredMessage, store_drafts
from api.write_order import SeqOrder, Turn
from db import room_log
from db.driver import Driver
from db.engine import Database
from db.room_log import MessageDraft

log = logging.getLogger(__name__)

DEADLOCK_RETRIES = 3
LOOK_UP_AFTER_REPEAT_SECONDS = 2.0
"""After a repeated client_id, batches look client_ids up before inserting for this long: a
client that retries usually retries several messages, and each repeat met by the insert alone
costs the batch a rollback and a second attempt."""
BATCH_INTERVAL_SECONDS = 0.008
"""Least time between the starts of two batches (`TANDEM_WRITE_BATCH_INTERVAL_MS`)."""
_LOCK_CONFLICT_CODES = (1205, 1213)  # MySQL: lock wait timeout, deadlock


def _is_transient(exc: OperationalError) -> bool:
    """A lock conflict, or a pooled connection that had died: worth another try."""
    if exc.connection_invalidated:
        return True
    code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
    return code in _LOCK_CONFLICT_CODES or "database is locked" in str(exc)


def _refused(exc: Exception) -> bool:
    """The database refused the batch's data rather than failed: a constraint (a client_id
    another process stored since the look-up), a value it cannot take or the driver cannot
    encode. Worth storing draft by draft to find the culprit; an `OperationalError`
    (connection, locks, disk) would only fail once per draft."""
    if isinstance(exc, UnicodeError):
        return True
    return isinstance(exc, DBAPIError) and not isinstance(exc, OperationalError)


def pipeline_depth(dialect: str) -> int:
    """Batches in flight at once. On MySQL/MariaDB the next batch prepares (and waits for the
    room locks) while the one before commits, so a commit's fsync no longer stalls everything
    behind it. SQLite has one writer anyway: a second batch would only split the work."""
    return 1 if dialect == "sqlite" else 2


@dataclass(slots=True)
class _Pending:
    draft: MessageDraft
    on_stored: Callable[[StoredMessage], None] | None
    future: asyncio.Future[StoredMessage]


class MessageWriter:
    def __init__(
        self,
        db: Database,
        *,
        batch_max: int = 500,
        batch_interval: float = BATCH_INTERVAL_SECONDS,
    ) -> None:
        self._db = db
        self._batch_max = batch_max
        self._batch_interval = batch_interval
        self._look_up_until = 0.0
        """Until then (time.monotonic), batches look their client_ids up before inserting."""
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._batches: set[asyncio.Task[None]] = set()
        self._order = SeqOrder()
        self._known = KnownRooms()
        self.on_commit: list[Callable[[set[str]], None]] = []
        """Called with the rooms of each committed batch (the statistics fold, db/rollups.py)."""

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="message-writer")

    async def stop(self) -> None:
        """Store what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def submit(
        self, draft: MessageDraft, on_stored: Callable[[StoredMessage], None] | None = None
    ) -> asyncio.Future[StoredMessage]:
        """Queue `draft` (before returning) and return the future of its storage.

        Futures resolve in commit order (see the module docstring). `on_stored` is called
        once the draft is committed, just before its future resolves, in that same order
        (each room's messages in seq order), even if the future was cancelled meanwhile: a
        publish needs no done-callback nor a shield of its own. The future fails with the
        routing error (api/room_states.py), or `RoomNotFound`, when the room refuses the
        draft."""
        if self._task is None:
            raise RuntimeError("MessageWriter.start() was not called")
        pending = _Pending(draft, on_stored, self._task.get_loop().create_future())
        self._queue.put_nowait(pending)
        return pending.future

    async def store(self, draft: MessageDraft) -> StoredMessage:
        """Durably store `draft` and return it with its seq (committed)."""
        return await self.submit(draft)

    async def _run(self) -> None:
        """Take a batch only once it can start: a slot in flight, the batch before it has
        inserted (it could not insert sooner anyway), and `batch_interval` has passed since
        the previous batch started. Whatever queued while it waited joins it, so each batch's
        fixed cost (statements, commit) is shared by more messages. A message after a quiet
        spell (no batch started within the interval) starts its batch at once."""
        in_flight = asyncio.Semaphore(pipeline_depth(self._db.dialect))
        last: Turn | None = None
        next_start = 0.0  # time.monotonic()
        while True:
            await in_flight.acquire()
            batch = [await self._queue.get()]
            wait = next_start - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if last is not None:
                await last.inserted.wait()
            next_start = time.monotonic() + self._batch_interval
            while len(batch) < self._batch_max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            turn = last = Turn(last)
            task = asyncio.create_task(self._write_batch(batch, turn))
            self._batches.add(task)
            task.add_done_callback(self._batches.discard)
            task.add_done_callback(lambda _: in_flight.release())

    async def _write_batch(self, batch: list[_Pending], turn: Turn) -> None:
        tickets: list[int] = []  # one per committed insert of this batch (SeqOrder)
        try:
            await self._write(batch, turn, tickets)
        except Exception as exc:  # a broken batch must not stop the writer
            log.exception("message batch of %d failed", len(batch))
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
        finally:
            turn.done()
            self._order.finish(tickets)
            for _ in batch:
                self._queue.task_done()

    async def _write(self, batch: list[_Pending], turn: Turn, tickets: list[int]) -> None:
        await turn.wait_for_previous_insert()
        look_up = time.monotonic() < self._look_up_until
        try:
            try:
                results = await self._store_retrying(
                    batch, tickets, turn.inserted.set, look_up=look_up
                )
            except IntegrityError:
                if look_up or turn.inserted.is_set():
                    raise
                # The unique (client_id, room_id) index refused a repeat. The attempt rolled
                # back before it inserted: it took no seqs and no ticket, and the next batch
                # still waits for this one. Store the batch again, looking the repeats up.
                self._repeat_seen()
                results = await self._store_retrying(batch, tickets, turn.inserted.set)
        except Exception as exc:
            if not _refused(exc) or turn.inserted.is_set():
                raise  # (once inserted, the next batch may be inserting: order would break)
            # One at a time, in order, before the next batch inserts: each draft gets its own
            # answer, and only the one the database refuses fails.
            results = [await self._store_alone(pending, tickets) for pending in batch]
        turn.inserted.set()
        if any(isinstance(r, StoredMessage) and r.duplicate for r in results):
            self._repeat_seen()
        for hook in self.on_commit:
            hook({p.draft.room_id for p in batch})
        if tickets:  # answer after every batch that took its seqs first
            await self._order.wait_turn(min(tickets))
        # Committed: answer now, whatever batches before this one are still doing, so answers
        # (and the publishes hanging on them) follow commit order, which is seq order per room.
        for pending, result in zip(batch, results, strict=True):
            if not isinstance(result, Exception) and pending.on_stored is not None:
                try:
                    pending.on_stored(result)
                except Exception:  # committed is a success: the sender still gets its answer
                    log.exception("after-commit call for room %s failed", result.message.room_id)
            if pending.future.done():  # the sender gave up waiting
                continue
            if isinstance(result, Exception):
                pending.future.set_exception(result)
            else:
                pending.future.set_result(result)

    def _repeat_seen(self) -> None:
        self._look_up_until = time.monotonic() + LOOK_UP_AFTER_REPEAT_SECONDS

    async def _store_alone(
        self, pending: _Pending, tickets: list[int]
    ) -> StoredMessage | Exception:
        """One draft in a transaction of its own; whatever goes wrong is this draft's answer."""
        try:
            try:
                [result] = await self._store_retrying([pending], tickets)
            except IntegrityError:
                # Another process stored its client_id since our look-up: now it is found.
                [result] = await self._store_retrying([pending], tickets)
        except Exception as exc:
            log.error("message draft for room %s refused", pending.draft.room_id, exc_info=exc)
            return exc
        return result

    async def _store_retrying(
        self,
        batch: Sequence[_Pending],
        tickets: list[int],
        after_insert: Callable[[], None] | None = None,
        *,
        look_up: bool = True,
    ) -> list[StoredMessage | Exception]:
        """Retry a batch rolled back by a deadlock with another process, or a dead connection.

        A connection that died during COMMIT leaves the outcome unknown: the batch may be
        stored. Before storing it again, look for one of its new messages (`was_stored`): if
        it is there the batch committed and its answers stand. Looking up client_ids alone
        would store a message without one twice (and answer one with a client_id as a mere
        repeat, never published nor answered by the AI)."""
        for attempt in range(DEADLOCK_RETRIES):
            inserted: list[StoredMessage | Exception] = []
            ticket: list[int] = []  # this attempt's place in line, taken as it inserts
            try:
                results = await self._store(batch, ticket, after_insert, inserted, look_up)
            except OperationalError as exc:
                stored = False
                try:
                    stored = await self._committed(inserted)
                finally:
                    if not stored:
                        self._order.finish(ticket)  # rolled back: its seqs were never taken
                if stored:
                    log.warning(
                        "a batch's commit was lost but the batch is stored: not stored again"
                    )
                    tickets.extend(ticket)
                    return inserted
                if attempt == DEADLOCK_RETRIES - 1 or not _is_transient(exc):
                    raise
                await asyncio.sleep(0.01 * (attempt + 1))
            except BaseException:
                self._order.finish(ticket)
                raise
            else:
                tickets.extend(ticket)
                return results
        raise AssertionError("unreachable")

    async def _committed(self, inserted: Sequence[StoredMessage | Exception]) -> bool:
        fresh = [r for r in inserted if isinstance(r, StoredMessage) and not r.duplicate]
        if not fresh:
            return False
        async with self._db.session() as session:
            return await room_log.was_stored(session, message=fresh[0].message)

    async def _store(
        self,
        batch: Sequence[_Pending],
        tickets: list[int],
        after_insert: Callable[[], None] | None = None,
        inserted: list[StoredMessage | Exception] | None = None,
        look_up: bool = True,
    ) -> list[StoredMessage | Exception]:
        """Resolve repeated client_ids and store the rest, in one transaction. `inserted`
        receives the answers once the rows are inserted, before the commit; `tickets` the
        insert's place in line. Without `look_up`, client_ids stored by an earlier batch are
        not looked for: the unique index refuses them (`IntegrityError`) and nothing is kept."""
        keys = (
            [(p.draft.room_id, p.draft.client_id) for p in batch if p.draft.client_id]
            if look_up
            else []
        )

        def now_inserted() -> None:
            tickets.append(self._order.take())
            if after_insert is not None:
                after_insert()

        try:
            try:
                return await self._store_once(batch, keys, now_inserted, inserted)
            except RoomsMoved:  # rolled back before inserting: lock the rooms this time
                return await self._store_once(batch, keys, now_inserted, inserted)
        except BaseException:
            self._known.forget(p.draft.room_id for p in batch)  # their seqs may not stand
            raise

    async def _store_once(
        self,
        batch: Sequence[_Pending],
        keys: Sequence[tuple[str, str]],
        now_inserted: Callable[[], None],
        inserted: list[StoredMessage | Exception] | None,
    ) -> list[StoredMessage | Exception]:
        async with self._db.write_batch() as session:
            found = await room_log.find_by_client_ids(session, keys=keys)
            known = {key: StoredMessage(m, None, None, duplicate=True) for key, m in found.items()}
            results = await self._store_fresh(session, batch, known, now_inserted)
            if inserted is not None:
                inserted.extend(results)
            return results

    async def _store_fresh(
        self,
        session: AsyncSession | Driver,
        batch: Sequence[_Pending],
        known: dict[tuple[str, str], StoredMessage],
        after_insert: Callable[[], None] | None,
    ) -> list[StoredMessage | Exception]:
        """Store what is not a repeat, in the transaction that looked the repeats up."""
        fresh: list[MessageDraft] = []
        first_in_batch: dict[tuple[str, str], int] = {}
        plan: list[tuple[str, int]] = []  # ("known", -) | ("fresh", index) | ("same", index)
        for pending in batch:
            draft = pending.draft
            key = (draft.room_id, draft.client_id) if draft.client_id else None
            if key is not None and key in known:
                plan.append(("known", 0))
            elif key is not None and key in first_in_batch:
                plan.append(("same", first_in_batch[key]))
            else:
                if key is not None:
                    first_in_batch[key] = len(fresh)
                plan.append(("fresh", len(fresh)))
                fresh.append(draft)

        written = await store_drafts(session, fresh, self._known) if fresh else []
        if after_insert is not None:
            after_insert()

        results: list[StoredMessage | Exception] = []
        for pending, (kind, index) in zip(batch, plan, strict=True):
            draft = pending.draft
            if kind == "known":
                results.append(known[(draft.room_id, str(draft.client_id))])
            elif kind == "same":
                first = written[index]
                results.append(
                    first
                    if isinstance(first, Exception)
                    else StoredMessage(first.message, None, None, duplicate=True)
                )
            else:
                results.append(written[index])
        return results
