"""Where the token signing key comes from when TANDEM_JWT_SECRET is unset.

`Settings` only refuses unsafe values; this is called once per process at start-up (the app
factory, `tandem serve`, `tandem up`) so that building a `Settings` never touches files:

* TANDEM_JWT_SECRET set: used as it is (Settings has checked it).
* SQLite file (the embedded default): a random key kept in `<database file>.jwt-secret`, mode
  600, made on first start with O_EXCL so that processes starting at once agree on one key (the
  losers of the race read the winner's file). It lives and dies with the database it guards.
* In-memory SQLite: a random key for this process; the data dies with it anyway.
* Any other database (MariaDB): refuse to start. Several processes, hosts and restarts must
  share one key, and only the operator can give them one.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from api.config import GENERATE_SECRET, Settings, check_jwt_secret

log = logging.getLogger(__name__)

SUFFIX = ".jwt-secret"
_READ_WAIT_SECONDS = 2.0


def new_secret() -> str:
    return secrets.token_urlsafe(48)


def secret_file(database_url: str) -> Path | None:
    """The key file beside a SQLite database file; None for in-memory SQLite."""
    url = make_url(database_url)
    database = url.database
    if not database or database == ":memory:" or url.query.get("mode") == "memory":
        return None
    path = Path(database)
    return path.with_name(path.name + SUFFIX)


def resolve_jwt_secret(settings: Settings) -> Settings:
    """`settings` with a signing key, or SystemExit with one line saying what to set."""
    if settings.jwt_secret.get_secret_value():
        return settings
    if make_url(settings.database_url).get_backend_name() != "sqlite":
        raise SystemExit(
            "TANDEM_JWT_SECRET is not set. A database other than SQLite needs one key shared "
            f"by every API process: set TANDEM_JWT_SECRET to the output of {GENERATE_SECRET}"
        )
    path = secret_file(settings.database_url)
    secret = new_secret() if path is None else _kept_secret(path)
    return settings.model_copy(update={"jwt_secret": SecretStr(secret)})


def _kept_secret(path: Path) -> str:
    secret = new_secret()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    except OSError as exc:
        raise SystemExit(
            f"Cannot create {path} for the token signing key ({exc.strerror}): "
            "set TANDEM_JWT_SECRET instead."
        ) from None
    with os.fdopen(fd, "w") as file:
        file.write(secret + "\n")
        file.flush()
        os.fsync(file.fileno())
    log.info("generated the token signing key in %s", path)
    return secret


def _read(path: Path) -> str:
    """The key in an existing file, waiting briefly for a process that has just created it."""
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users: chmod 600 it", path)
    deadline = time.monotonic() + _READ_WAIT_SECONDS
    while not (text := path.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        return check_jwt_secret(text, source=str(path))
    except ValueError as exc:
        raise SystemExit(f"{exc} (or delete the file to have a new one made)") from None
