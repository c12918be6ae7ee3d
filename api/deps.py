"""Dependencies, as `Annotated` aliases the routes declare (the full-stack-fastapi-template way)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request, WebSocket, WebSocketException, status
from fastapi.security import OAuth2PasswordBearer

from api.auth import AgentClaims, InvalidToken, RoomClaims, decode_token
from api.config import Settings
from api.limits import Limits
from api.presence import Presence
from api.realtime.hub import Hub
from api.rooms import RoomService
from db import queries
from db.engine import Database
from db.models import Agent, Role

AGENT_CACHE_SECONDS = 10.0
"""How stale an agent read may be: a disabled agent's tokens stop working within this long."""


@dataclass(slots=True)
class Tandem:
    """Everything with state, built once by the app's lifespan."""

    settings: Settings
    db: Database
    hub: Hub
    presence: Presence
    rooms: RoomService
    limits: Limits
    agents: dict[int, tuple[float, Agent]] = field(default_factory=dict)
    """Agents by id with when they were read: a console polling every second costs no lookup."""

    async def agent(self, agent_id: int) -> Agent | None:
        now = time.monotonic()
        cached = self.agents.get(agent_id)
        if cached is not None and now - cached[0] < AGENT_CACHE_SECONDS:
            return cached[1]
        async with self.db.session() as session:
            agent = await queries.get_agent(session, agent_id=agent_id)
        if agent is None:
            self.agents.pop(agent_id, None)
        else:
            self.agents[agent_id] = (now, agent)
        return agent


def get_tandem(request: Request) -> Tandem:
    tandem: Tandem = request.app.state.tandem
    return tandem


def get_tandem_ws(websocket: WebSocket) -> Tandem:
    tandem: Tandem = websocket.app.state.tandem
    return tandem


TandemDep = Annotated[Tandem, Depends(get_tandem)]
TandemWsDep = Annotated[Tandem, Depends(get_tandem_ws)]


def get_client_address(request: Request) -> str:
    """The caller's address; uvicorn takes it from X-Forwarded-For only when the request comes
    from one of `forwarded_allow_ips` (the Streamlit apps, a reverse proxy)."""
    return request.client.host if request.client is not None else "unknown"


ClientAddress = Annotated[str, Depends(get_client_address)]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]

_UNAUTHORIZED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="Missing or invalid token: log in, or use the token you got when you created the room.",
    headers={"WWW-Authenticate": "Bearer"},
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a logged-in agent, or the anonymous user of one room."""

    agent: Agent | None = None
    room_id: str | None = None
    expires_at: float = math.inf
    """When the token ends (Unix time): sockets outlive requests and check it themselves."""


def agent_is_current(agent: Agent | None, *, version: int) -> bool:
    """The agent exists, is enabled and has not been signed out since the token was issued."""
    return agent is not None and not agent.disabled and agent.token_version == version


async def _principal(tandem: Tandem, token: str | None) -> Principal | None:
    if not token:
        return None
    try:
        claims = decode_token(token, secret=tandem.settings.jwt_secret.get_secret_value())
    except InvalidToken:
        return None
    if isinstance(claims, RoomClaims):
        return Principal(room_id=claims.room_id, expires_at=claims.expires_at)
    assert isinstance(claims, AgentClaims)
    agent = await tandem.agent(claims.agent_id)
    if not agent_is_current(agent, version=claims.version):
        return None
    return Principal(agent=agent, expires_at=claims.expires_at)


async def get_current_agent(tandem: TandemDep, token: TokenDep) -> Agent:
    principal = await _principal(tandem, token)
    if principal is None or principal.agent is None:
        raise _UNAUTHORIZED
    return principal.agent


CurrentAgent = Annotated[Agent, Depends(get_current_agent)]


def _require_roles(*roles: Role) -> object:
    async def check(agent: CurrentAgent) -> Agent:
        if agent.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"This needs one of the roles: {allowed}."
            )
        return agent

    return Depends(check)


ChatAgent = Annotated[Agent, _require_roles(Role.agent, Role.admin)]
"""An agent who may take and answer chats (analysts only read)."""
StatsReader = Annotated[Agent, _require_roles(Role.analyst, Role.admin)]
Admin = Annotated[Agent, _require_roles(Role.admin)]
"""An admin: manages what the whole team shares (saved replies)."""


async def get_room_principal(room_id: str, tandem: TandemDep, token: TokenDep) -> Principal:
    """The room's own user (room token for this room) or any logged-in agent."""
    principal = await _principal(tandem, token)
    if principal is None:
        raise _UNAUTHORIZED
    if principal.room_id is not None and principal.room_id != room_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "This room token is for another room.")
    if principal.room_id is not None:  # the room's user is here (api/user_seen.py)
        tandem.rooms.user_seen.seen(room_id)
    return principal


RoomPrincipal = Annotated[Principal, Depends(get_room_principal)]


WS_SUBPROTOCOL = "tandem"
BEARER_PREFIX = "bearer."


def _ws_token(websocket: WebSocket) -> str | None:
    """The JWT from `Authorization: Bearer`, the `bearer.<token>` subprotocol (browsers can
    set no headers, and a query string ends up in access logs), or `?token=` (old clients)."""
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    for offered in websocket.scope.get("subprotocols", []):
        if offered.startswith(BEARER_PREFIX):
            return offered[len(BEARER_PREFIX) :]
    return websocket.query_params.get("token")


async def accept(websocket: WebSocket) -> None:
    """Accept with the `tandem` subprotocol when offered; never echo the `bearer.` one."""
    offered = WS_SUBPROTOCOL in websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol=WS_SUBPROTOCOL if offered else None)


async def refuse(websocket: WebSocket, reason: str) -> WebSocketException:
    """Accept, then close with 1008: clients see the policy code and reason, not a bare 403."""
    await accept(websocket)
    return WebSocketException(status.WS_1008_POLICY_VIOLATION, reason)


async def get_ws_room_principal(
    websocket: WebSocket, room_id: str, tandem: TandemWsDep
) -> Principal:
    principal = await _principal(tandem, _ws_token(websocket))
    if principal is None or (principal.room_id is not None and principal.room_id != room_id):
        raise await refuse(websocket, "invalid or missing token")
    return principal


async def get_ws_agent(websocket: WebSocket, tandem: TandemWsDep) -> Principal:
    principal = await _principal(tandem, _ws_token(websocket))
    if principal is None or principal.agent is None:
        raise await refuse(websocket, "an agent token is required")
    return principal


WsRoomPrincipal = Annotated[Principal, Depends(get_ws_room_principal)]
WsAgentPrincipal = Annotated[Principal, Depends(get_ws_agent)]
"""An agent's principal (`agent` is set), with the token's expiry for the socket's watchdog."""
