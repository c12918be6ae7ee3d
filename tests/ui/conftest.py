"""Fixtures for the Streamlit app tests: a real API process per module (tests/ui/processes.py)
and, for the browser tests, the stack and chromium (tests/ui/stack.py).

The names tests import from here (`ApiProcess`, `start_api`, `stop`, ...) live in
tests/ui/processes.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ui.processes import (  # noqa: F401  (re-exported for the tests that import them here)
    PASSWORD,
    ROOT,
    Agent,
    ApiProcess,
    api_env,
    launch_api,
    restart_api,
    start_api,
    stop,
    wait_api,
    wait_http,
)
from tests.ui.stack import browser, shared_stack, stack  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    """One API process per test module (presence and the queue are shared state)."""
    live = start_api(tmp_path_factory.mktemp("api"))
    try:
        yield live
    finally:
        stop(live.process)


@pytest.fixture
def use_api(api: ApiProcess, monkeypatch: pytest.MonkeyPatch) -> ApiProcess:
    """Point the apps' client (ui_common.client.api_url) at the test API."""
    monkeypatch.setenv("TANDEM_API_URL", api.url)
    return api
