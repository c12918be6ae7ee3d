"""Liveness and readiness for process supervisors and load balancers."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import TandemDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request, tandem: TandemDep) -> dict[str, str] | JSONResponse:
    drain = getattr(request.app.state, "drain", None)
    if drain is not None and drain.draining:  # SIGTERM: send new clients elsewhere
        return JSONResponse({"status": "draining"}, status_code=503)
    checks: dict[str, str] = {}
    try:
        async with tandem.db.session() as session:
            await session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        await tandem.hub.ping()
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = f"error: {type(exc).__name__}"
    if all(v == "ok" for v in checks.values()):
        return {"status": "ok", **checks}
    return JSONResponse({"status": "unavailable", **checks}, status_code=503)
