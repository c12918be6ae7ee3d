"""`GET /api/config`: what a client needs before it lets a person type (public, no token)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import TandemDep

router = APIRouter(prefix="/api", tags=["config"])


class PublicConfig(BaseModel):
    max_message_chars: int
    """Longer message texts are refused (413): the chat box stops typing there."""
    version: str


def _version() -> str:
    try:
        return package_version("tandem")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0.0.0"


VERSION = _version()


@router.get("/config", response_model=PublicConfig)
async def public_config(tandem: TandemDep) -> PublicConfig:
    return PublicConfig(max_message_chars=tandem.settings.max_message_chars, version=VERSION)
