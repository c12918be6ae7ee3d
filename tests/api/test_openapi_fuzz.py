"""Schemathesis against the live API (`tandem serve`: real uvicorn, SQLite): whatever it sends,
no 5xx, only documented statuses, bodies as documented, and invalid data refused.

Hypothesis drives schemathesis' strategies directly: its pytest plugin's lazy schemas (the way
to load a schema from a live server fixture) do not run under pytest 9.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.ui.conftest import ApiProcess, start_api, stop
from ui_common.client import Session

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
FUZZ = settings(
    max_examples=12,  # per operation; the API has ~60 of them, and CI stays under 15 minutes
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the report names the case anyway
)


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    api = start_api(tmp_path_factory.mktemp("fuzz"))
    try:
        yield api
    finally:
        stop(api.process)


@pytest.fixture(scope="module")
def schema(live_api: ApiProcess) -> schemathesis.BaseSchema:
    loaded = schemathesis.openapi.from_url(f"{live_api.url}/openapi.json")
    # A body too large to read is refused with 413 before it is parsed: a rejection too.
    loaded.config.checks.negative_data_rejection.expected_statuses.append("413")
    return loaded


@pytest.fixture(scope="module")
def user_sessions(live_api: ApiProcess) -> tuple[Session, Session]:
    """A room for each test, made before any fuzzing: fuzzing `POST /api/rooms` (it takes a
    body) uses up the address's budget of new rooms, so a room made afterwards would get 429."""
    return live_api.user_room()[0], live_api.user_room()[0]


INT64_MAX = 2**63 - 1


def fuzz(schema: schemathesis.BaseSchema, url: str, token: str, room_id: str) -> list[str]:
    """Every operation, valid and invalid data; returns what failed, one entry per case."""
    failures: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # else the schema itself is broken
        operation = result.ok()
        fixed = {"room_id": room_id} if "{room_id}" in operation.path else None
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)
            label = f"{operation.label} [{mode.value}]"
            try:
                failures += [f"{label}: {exc}" for exc in explore(strategy, url, headers)]
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # no input that could be made invalid
    return failures


def explore(
    strategy: SearchStrategy[schemathesis.Case], url: str, headers: dict[str, str]
) -> list[BaseException]:
    failed: list[BaseException] = []

    @FUZZ
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        try:
            case.call_and_validate(base_url=url, headers=headers, checks=CHECKS)
        except (AssertionError, FailureGroup) as exc:
            failed.append(exc)

    run()
    return failed


def test_as_an_admin(
    live_api: ApiProcess, user_sessions: tuple[Session, Session], schema: schemathesis.BaseSchema
) -> None:
    """An admin reaches every route an agent or an analyst has."""
    admin = live_api.agent_client(live_api.add_agent("Ada", role="admin"))
    session = user_sessions[0]
    assert admin.token is not None
    failures = fuzz(schema, live_api.url, admin.token, session.room_id)
    assert not failures, "\n\n".join(failures)


def test_as_a_rooms_user(
    live_api: ApiProcess, user_sessions: tuple[Session, Session], schema: schemathesis.BaseSchema
) -> None:
    session = user_sessions[1]
    failures = fuzz(schema, live_api.url, session.token, session.room_id)
    assert not failures, "\n\n".join(failures)
