"""The order of the writer's batches (api/writer.py): seqs follow the queue, answers the seqs.

On MySQL/MariaDB two batches are in flight at once. A `Turn` keeps a batch from inserting before
the one ahead of it has (which then holds its rooms' locks until it commits); a `SeqOrder`
ticket, taken as a batch inserts, makes answers (and the publishes hanging on them) come in
the order batches took their seqs, whatever order their commits come back in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence


class Turn:
    """A batch's place in line: its rows are inserted only after those of the batch before it
    (which then holds its rooms' locks until it commits), so seqs follow the queue."""

    __slots__ = ("inserted", "previous")

    def __init__(self, previous: Turn | None) -> None:
        self.previous = previous
        self.inserted = asyncio.Event()
        """Set once the batch's rows are inserted (its room rows locked), before it commits."""

    async def wait_for_previous_insert(self) -> None:
        if self.previous is not None:
            await self.previous.inserted.wait()

    def done(self) -> None:
        self.inserted.set()
        self.previous = None  # no chain of finished batches kept alive


class SeqOrder:
    """Tickets taken as batches insert (seqs are assigned then, under the rooms' locks),
    answered in ticket order. A ticket of an attempt that rolled back is finished at once."""

    def __init__(self) -> None:
        self._taken = 0
        self._through = 0
        """Every ticket up to this one has answered."""
        self._finished: set[int] = set()
        self._advanced = asyncio.Event()

    def take(self) -> int:
        self._taken += 1
        return self._taken

    async def wait_turn(self, ticket: int) -> None:
        while self._through < ticket - 1:
            await self._advanced.wait()

    def finish(self, tickets: Sequence[int]) -> None:
        """The batch holding `tickets` has answered (or given up): later ones may go."""
        self._finished.update(tickets)
        moved = False
        while self._through + 1 in self._finished:
            self._through += 1
            self._finished.discard(self._through)
            moved = True
        if moved:
            advanced, self._advanced = self._advanced, asyncio.Event()
            advanced.set()
