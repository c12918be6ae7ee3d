"""Agent login (OAuth2 password flow) and who-am-I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.auth import DUMMY_HASH, create_agent_token, verify_password_off_loop
from api.deps import ClientAddress, CurrentAgent, TandemDep
from api.responses import errors
from db import queries
from db.models import AgentPublic

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
    token = create_agent_token(
        agent_id=agent.id,
        role=agent.role,
        version=agent.token_version,
        secret=tandem.settings.jwt_secret.get_secret_value(),
        minutes=tandem.settings.jwt_expire_minutes,
    )
    return Token(access_token=token)


@router.get("/agents/me", responses=errors(401))
async def me(agent: CurrentAgent) -> AgentPublic:
    return AgentPublic.model_validate(agent, from_attributes=True)
