"""Agent login (OAuth2 password flow) and who-am-I."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from api.auth import DUMMY_HASH, create_agent_token, verify_password_off_loop
from api.deps import ClientAddress, CurrentAgent, Tandem, TandemDep
from api.responses import errors
from db import agent_sessions, queries
from db.models import Agent, AgentPublic, utcnow

router = APIRouter(prefix="/api", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


@router.post("/auth/token", responses=errors(400, 401, 413, 422, 429))
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    tandem: TandemDep,
    address: ClientAddress,
) -> Token:
    limits = tandem.limits
    await limits.check_login(account=form.username, address=address)
    async with tandem.db.session() as session:
        agent = await queries.get_agent_by_email(session, email=form.username)
    # An unknown email costs a verify too, and a disabled agent gets the same answer: neither
    # the time nor the text tells which accounts exist.
    valid = await verify_password_off_loop(
        form.password, agent.password_hash if agent else DUMMY_HASH
    )
    if agent is None or agent.id is None or agent.disabled or not valid:
        await limits.login_failed(account=form.username, address=address)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Wrong email or password.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    await limits.login_succeeded(account=form.username, address=address)
    return _token_for(tandem, agent)


def _token_for(tandem: Tandem, agent: Agent) -> Token:
    assert agent.id is not None
    token = create_agent_token(
        agent_id=agent.id,
        role=agent.role,
        version=agent.token_version,
        secret=tandem.settings.jwt_secret.get_secret_value(),
        minutes=tandem.settings.jwt_expire_minutes,
    )
    return Token(access_token=token)


# ---------------------------------------------------------------- console sessions


class SessionCreated(BaseModel):
    session: str
    """The secret: the console keeps it in the browser and exchanges it for a token on load."""
    expires_at: datetime


class SessionSecret(BaseModel):
    session: str = Field(min_length=1, max_length=agent_sessions.SECRET_MAX)


@router.post("/auth/sessions", status_code=status.HTTP_201_CREATED, responses=errors(401, 422))
async def create_session(agent: CurrentAgent, tandem: TandemDep) -> SessionCreated:
    """A revocable "stay logged in" for the calling agent's browser (not a JWT)."""
    assert agent.id is not None
    async with tandem.db.write(notify=False) as session:
        secret, expires = await agent_sessions.create_session(
            session,
            agent_id=agent.id,
            token_version=agent.token_version,
            now=utcnow(),
            days=tandem.settings.agent_session_days,
        )
    return SessionCreated(session=secret, expires_at=expires)


@router.post("/auth/sessions/token", responses=errors(400, 401, 413, 422))
async def session_token(body: SessionSecret, tandem: TandemDep) -> Token:
    """A fresh token for a live session; 401 once it was revoked (logout), expired, or the
    agent was disabled or given a new password since."""
    async with tandem.db.session() as session:
        found = await agent_sessions.find_live(session, secret=body.session, now=utcnow())
        agent = None if found is None else await queries.get_agent(session, agent_id=found[0])
    if found is None or agent is None or agent.disabled or agent.token_version != found[1]:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "This session has ended; log in again.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return _token_for(tandem, agent)


@router.post(
    "/auth/sessions/revoke", status_code=status.HTTP_204_NO_CONTENT, responses=errors(400, 413, 422)
)
async def revoke_session(body: SessionSecret, tandem: TandemDep) -> None:
    """Logout: the session stops working at once (an unknown one: 204 too)."""
    async with tandem.db.write(notify=False) as session:
        await agent_sessions.revoke(session, secret=body.session, now=utcnow())


@router.get("/agents/me", responses=errors(401))
async def me(agent: CurrentAgent) -> AgentPublic:
    return AgentPublic.model_validate(agent, from_attributes=True)
