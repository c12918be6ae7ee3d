"""The `tandem` command: run the stack, manage agents.

tandem up                         API + both Streamlit apps (what `make run` calls)
tandem serve                      the API alone (--host, --port, --workers N with Redis)
tandem agent add EMAIL --name N --role agent --password-stdin
tandem agent list
tandem agent disable EMAIL        tokens void, open consoles closed within 15 s; no login
tandem agent enable EMAIL         may log in again (old tokens stay void)
tandem agent reset-password EMAIL --password-stdin    old tokens void
tandem stats rebuild [--from YYYY-MM-DD] [--to YYYY-MM-DD]   recompute statistics rollups (UTC days)
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from api.auth import hash_password_off_loop
from api.config import get_settings
from db import queries
from db.engine import Database
from db.migrate import upgrade
from db.models import Role
from db.rollups import rebuild_rollups

if TYPE_CHECKING:
    from tools.demo_data import DemoSummary


async def _with_db(url: str) -> Database:
    db = Database(url)
    await upgrade(db.engine)
    return db


async def add_agent(*, email: str, name: str, role: Role, password: str) -> int:
    db = await _with_db(get_settings().database_url)
    try:
        async with db.write() as session:
            if await queries.get_agent_by_email(session, email=email) is not None:
                raise SystemExit(f"An agent with the email {email} exists already.")
            password_hash = await hash_password_off_loop(password)
            agent = await queries.create_agent(
                session, email=email, name=name, role=role, password_hash=password_hash
            )
            assert agent.id is not None
            return agent.id
    finally:
        await db.dispose()


async def list_agents() -> list[tuple[int, str, str, str]]:
    db = await _with_db(get_settings().database_url)
    try:
        async with db.session() as session:
            agents = await queries.list_agents(session)
        # A disabled agent's role reads e.g. "agent\tdisabled": one more column, only for them.
        return [
            (a.id or 0, a.email, a.name, a.role.value + ("\tdisabled" if a.disabled else ""))
            for a in agents
        ]
    finally:
        await db.dispose()


async def update_agent(
    *, email: str, disabled: bool | None = None, password: str | None = None
) -> None:
    """Disable or enable an agent, or set their password; SystemExit for an unknown email."""
    password_hash = await hash_password_off_loop(password) if password is not None else None
    db = await _with_db(get_settings().database_url)
    try:
        async with db.write() as session:
            agent = await queries.get_agent_by_email(session, email=email)
            if agent is None or agent.id is None:
                raise SystemExit(f"No agent with the email {email}.")
            if disabled is not None:
                await queries.set_agent_disabled(session, agent_id=agent.id, disabled=disabled)
            if password_hash is not None:
                await queries.set_agent_password(
                    session, agent_id=agent.id, password_hash=password_hash
                )
    finally:
        await db.dispose()


async def demo_data(*, conversations: int, days: int, seed: int | None, tz: str) -> None:
    from tools.demo_data import generate

    db = await _with_db(get_settings().database_url)
    try:

        def progress(done: DemoSummary) -> None:
            print(f"  {done.conversations}/{conversations} conversations", end="\r", flush=True)

        summary = await generate(
            db, conversations=conversations, days=days, seed=seed, tz=tz, progress=progress
        )
        folded = await rebuild_rollups(db)  # histories are in the past: the live fold skips them
    finally:
        await db.dispose()
    print(f"Statistics rollups rebuilt ({folded} conversations).")
    rate = summary.messages / summary.seconds if summary.seconds else 0.0
    print(" " * 60, end="\r")
    print(
        f"Inserted {summary.conversations} conversations, {summary.messages} messages and "
        f"{summary.events} events over {days} days in {summary.seconds:.1f} s "
        f"({rate:,.0f} messages/s)."
    )
    print("Demo logins (passwords of new accounts are shown only now):")
    for agent in summary.agents:
        password = agent.password or "(existed already: tandem agent reset-password EMAIL)"
        print(f"  {agent.email}\t{agent.name}\t{agent.role.value}\t{password}")


async def stats_rebuild(*, first: date | None, last: date | None) -> int:
    start = None if first is None else datetime.combine(first, time(), tzinfo=UTC)
    end = None if last is None else datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
    db = await _with_db(get_settings().database_url)
    try:
        return await rebuild_rollups(db, start, end)
    finally:
        await db.dispose()


def _read_password(from_stdin: bool) -> str:
    password = sys.stdin.readline().rstrip("\n") if from_stdin else getpass.getpass("Password: ")
    if len(password) < 8:
        raise SystemExit("The password needs at least 8 characters.")
    return password


def _serve(host: str, port: int, workers: int | None = None) -> None:
    import uvicorn

    settings = get_settings()
    if workers is not None and workers > 1 and not settings.redis_url:
        raise SystemExit(
            f"--workers {workers} needs TANDEM_REDIS_URL: with the in-memory broker each worker "
            "would see only its own rooms' frames."
        )
    from api.jwt_secret import resolve_jwt_secret

    # Refuse (one line, exit 1) before uvicorn starts; the app factory resolves it again in
    # uvicorn's process, to the same key (kept in a file) or the same refusal.
    resolve_jwt_secret(settings)
    from api.logs import log_config
    from api.ws_protocol import WebSocketProtocol

    # Chat frames are small: compressing each costs more CPU than it saves bytes.
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,  # None: uvicorn's default (WEB_CONCURRENCY, else 1)
        ws=WebSocketProtocol,  # websockets-sansio, with less kept per socket
        ws_per_message_deflate=False,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        ws_max_size=settings.max_frame_bytes,  # a bigger frame is refused before it is read
        log_config=log_config(),  # no `?token=` in the access log
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tandem", description="Tandem support chat")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=None, help="API processes (needs Redis)")

    up = commands.add_parser("up", help="run the API and both Streamlit apps")
    up.add_argument("--host", default="127.0.0.1")

    agent = commands.add_parser("agent", help="manage agents").add_subparsers(
        dest="agent_command", required=True
    )
    add = agent.add_parser("add", help="create an agent")
    add.add_argument("email")
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.agent.value)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    agent.add_parser("list", help="list agents")
    for name, help_text in (
        ("disable", "lock an agent out: no login, tokens and open consoles stop within 15 s"),
        ("enable", "let a disabled agent log in again"),
    ):
        agent.add_parser(name, help=help_text).add_argument("email")
    reset = agent.add_parser("reset-password", help="set a new password; old tokens stop")
    reset.add_argument("email")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    demo = commands.add_parser("demo-data", help="insert demo conversations (for stats)")
    demo.add_argument("--conversations", type=int, required=True, metavar="N")
    demo.add_argument("--days", type=int, default=42, help="spread over the last D days")
    demo.add_argument("--seed", type=int, default=None, help="repeatable content")
    demo.add_argument("--tz", default="Europe/Berlin", help="whose business hours")

    stats = commands.add_parser("stats", help="statistics maintenance").add_subparsers(
        dest="stats_command", required=True
    )
    rebuild = stats.add_parser(
        "rebuild",
        help="recompute the rollups of conversations created in these UTC days (default: all); "
        "safe while the API runs",
    )
    rebuild.add_argument("--from", dest="first", type=date.fromisoformat, metavar="YYYY-MM-DD")
    rebuild.add_argument("--to", dest="last", type=date.fromisoformat, metavar="YYYY-MM-DD")

    args = parser.parse_args(argv)
    if args.command == "serve":
        _serve(args.host, args.port, args.workers)
    elif args.command == "up":
        from api.launcher import run_stack

        run_stack(host=args.host)
    elif args.command == "agent" and args.agent_command == "add":
        password = _read_password(args.password_stdin)
        agent_id = asyncio.run(
            add_agent(email=args.email, name=args.name, role=Role(args.role), password=password)
        )
        print(f"Agent {agent_id} created: {args.email} ({args.role}).")
    elif args.command == "demo-data":
        if args.conversations < 0 or args.days < 1:
            raise SystemExit("--conversations must be >= 0 and --days >= 1.")
        asyncio.run(
            demo_data(conversations=args.conversations, days=args.days, seed=args.seed, tz=args.tz)
        )
    elif args.command == "stats" and args.stats_command == "rebuild":
        if args.first and args.last and args.first > args.last:
            raise SystemExit("--from must not be after --to.")
        folded = asyncio.run(stats_rebuild(first=args.first, last=args.last))
        print(f"Statistics rollups rebuilt: {folded} conversations folded.")
    elif args.command == "agent" and args.agent_command == "list":
        for agent_id, email, name, role in asyncio.run(list_agents()):
            print(f"{agent_id}\t{email}\t{name}\t{role}")
    elif args.command == "agent" and args.agent_command in ("disable", "enable"):
        disabled = args.agent_command == "disable"
        asyncio.run(update_agent(email=args.email, disabled=disabled))
        if disabled:
            print(f"{args.email} disabled: their tokens and open consoles stop within 15 s.")
        else:
            print(f"{args.email} enabled: they can log in again.")
    elif args.command == "agent" and args.agent_command == "reset-password":
        password = _read_password(args.password_stdin)
        asyncio.run(update_agent(email=args.email, password=password))
        print(f"New password set for {args.email}; their tokens from before stop within 15 s.")


if __name__ == "__main__":
    main()
