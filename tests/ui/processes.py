"""A real API process (uvicorn in a subprocess, temp SQLite) for the Streamlit app tests.

Kept apart from conftest.py so that tests/ui/stack.py (and the tools that import it) can use
it without importing the fixtures; conftest.py re-exports these names.

The apps talk HTTP only, so the tests give them a real server: `TANDEM_API_URL` points at it.
Agents are created the way an operator would, with `tandem agent add --password-stdin`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import free_port
from ui_common.client import Session, TandemClient

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-pass"


@dataclass
class Agent:
    email: str
    name: str
    role: str
    password: str = PASSWORD


@dataclass
class ApiProcess:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path
    agents: dict[str, Agent] = field(default_factory=dict)

    def add_agent(self, name: str, role: str = "agent") -> Agent:
        """Create an agent through the CLI (same database as the running API)."""
        return self.add_agents({name: role})[name]

    def add_agents(self, roster: dict[str, str]) -> dict[str, Agent]:
        """Create agents (name → role) with `tandem agent add ... --password-stdin`, run as the
        CLI runs it but all in one interpreter: the import, not the insert, is what costs."""
        made = {
            name: Agent(
                email=f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.com", name=name, role=role
            )
            for name, role in roster.items()
        }
        if not made:
            return made
        argvs = [
            ["agent", "add", a.email, "--name", a.name, "--role", a.role, "--password-stdin"]
            for a in made.values()
        ]
        script = (
            "import json, sys\nfrom api.cli import main\n"
            "for argv in json.loads(sys.argv[1]):\n    main(argv)"
        )
        done = subprocess.run(
            [sys.executable, "-c", script, json.dumps(argvs)],
            input="".join(f"{a.password}\n" for a in made.values()).encode(),
            env=self.env, cwd=ROOT, capture_output=True, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(
                f"tandem agent add failed:\n{done.stdout.decode()}{done.stderr.decode()}"
            )
        self.agents.update(made)
        return made

    def client(self, token: str | None = None) -> TandemClient:
        return TandemClient(self.url, token=token)

    def agent_client(self, agent: Agent) -> TandemClient:
        client = self.client()
        client.login(agent.email, agent.password)
        return client

    def user_room(self, first_message: str | None = None) -> tuple[Session, TandemClient]:
        """A new room and a client holding its token; optionally with a first message and the
        AI's answer to it (which comes on its own, after the POST returns)."""
        client = self.client()
        session = client.create_room()
        client.token = session.token
        if first_message:
            client.send(session.room_id, first_message)
            deadline = time.monotonic() + 10
            while not any(m.sender == "ai" for m in client.messages(session.room_id)):
                assert time.monotonic() < deadline, "the AI did not answer within 10 s"
                time.sleep(0.05)
        return session, client


def _log_tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def wait_http(url: str, *, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Until `url` answers 200 (or the process dies, or time runs out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def api_env(db_path: Path, *, rate_limits: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "OPENAI_"))}
    env.update(
        TANDEM_DATABASE_URL=f"sqlite+aiosqlite:///{db_path}",
        TANDEM_JWT_SECRET="ui-tests-" + uuid.uuid4().hex,
        TANDEM_AI_CHUNK_DELAY_SECONDS="0.005",
        TANDEM_RATE_LIMITS="on" if rate_limits else "off",
    )
    return env


def _launch(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """`tandem serve`, as `tandem up` runs it (same uvicorn options); still starting on return."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_api(api: ApiProcess) -> None:
    """Until the API answers (its startup has migrated the database); stopped if it never does."""
    try:
        wait_http(f"{api.url}/healthz", timeout=30, process=api.process)
    except (RuntimeError, TimeoutError) as exc:
        stop(api.process)
        raise RuntimeError(f"{exc}\n--- API log ---\n{_log_tail(api.log)}") from None


def launch_api(tmp: Path, *, rate_limits: bool = True) -> ApiProcess:
    """The API starting on a free port; `wait_api` before using it (meanwhile, start the rest)."""
    env = api_env(tmp / "tandem.db", rate_limits=rate_limits)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _launch(env, port, tmp / "api.log")
    return ApiProcess(
        url=url, env={**env, "TANDEM_API_URL": url}, process=process, log=tmp / "api.log"
    )


def start_api(tmp: Path, *, rate_limits: bool = True) -> ApiProcess:
    api = launch_api(tmp, rate_limits=rate_limits)
    wait_api(api)
    return api


def restart_api(api: ApiProcess) -> None:
    """The same API again (same port, database and signing key) after `stop(api.process)`:
    what the apps see across a deploy or a crash. Tokens issued before stay valid."""
    port = int(api.url.rsplit(":", 1)[1])
    env = {k: v for k, v in api.env.items() if k != "TANDEM_API_URL"}
    api.process = _launch(env, port, api.log)
    wait_api(api)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
