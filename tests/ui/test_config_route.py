"""`GET /api/config`: public, and what the chat box limits typing to."""

from __future__ import annotations

from tests.ui.conftest import ApiProcess


def test_config_is_public_and_gives_the_message_limit(api: ApiProcess) -> None:
    client = api.client()  # no token
    config = client.config()
    assert config.max_message_chars == 4000  # the default TANDEM_MAX_MESSAGE_CHARS
    assert config.version
    assert "/api/config" in client.get("/openapi.json")["paths"]
