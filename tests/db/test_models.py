"""`stored_message` makes a message as pydantic's `model_construct` would: it leans on pydantic's
and SQLModel's internals (an instance's `__dict__` and fields set), so an upgrade that changes
them must fail here, not send different frames or answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from api.frames import message_frame
from db.models import MessagePublic, Sender, stored_message


@pytest.mark.parametrize("client_id", ["c-1", None])
@pytest.mark.parametrize("sender", list(Sender))
def test_a_stored_message_is_the_one_pydantic_constructs(
    client_id: str | None, sender: Sender
) -> None:
    values: dict[str, Any] = dict(
        seq=7,
        room_id="r1",
        sender=sender,
        author="Alice",
        text='émoji 🎉, "quotes"',
        created_at=datetime(2026, 12, 1, 9, 30, 5, 123456, tzinfo=UTC),
        client_id=client_id,
        while_waiting=sender is Sender.ai,
    )
    made = stored_message(**values)
    constructed = MessagePublic.model_construct(**values)
    assert MessagePublic.__pydantic_post_init__ is None  # model_construct would call it
    assert made == constructed
    assert made.model_fields_set == constructed.model_fields_set
    assert made.model_dump() == constructed.model_dump()
    assert message_frame(made) == message_frame(constructed)
    assert made.model_dump_json() == MessagePublic.model_validate(values).model_dump_json()
    assert made.__pydantic_extra__ is None and made.__pydantic_private__ is None
    made.text = "edited"  # an instance of its own: assignment works as on any model
    assert made.text == "edited" and made.model_copy(update={"seq": 8}).seq == 8
