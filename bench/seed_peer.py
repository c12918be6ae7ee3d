"""Tandem beside the seed's stack (Express + Socket.io + mysql2), driven by one load generator.

The seed's peer is a Node project outside this repository (`server.js` and `relay-load.js`;
see the README's performance section). Both servers get the same open-loop load from
`relay-load.js` (R rooms, a user and an agent socket each, users sending at a fixed rate) and
both store on the local MariaDB. For each rate and round the two run one after the other, so
their figures share the machine's state; or, with `--together`, at the same time (each with its
own load generator), so they share the same seconds: these machines' speed drifts by more than
±5 % within a minute, which one-after-the-other rounds take as a difference between servers.

    .venv/bin/python bench/seed_peer.py --seed-dir /tmp/seed-node --rates 2000,4000 --rounds 3
    .venv/bin/python bench/seed_peer.py --seed-dir /tmp/seed-node --rates 2000 --rounds 6 --together

CPU per message: each server's CPU (utime + stime from /proc) sampled every 0.2 s, taken over
the middle 60 % of the load generator's send window (its setup, warm-up and drain left out),
divided by the messages sent in that stretch (the open loop's rate); the figure holds when
delivered/s ≈ sent/s (both printed).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import free_port, port_open  # noqa: E402

MARIADB = "mysql+asyncmy://root@127.0.0.1:3306"
TICK = os.sysconf("SC_CLK_TCK")
PYTHON = str(ROOT / ".venv" / "bin" / "python")
CLI = [PYTHON, "-c", "import sys; from api.cli import main; sys.exit(main())"]
EMAIL = "bench@example.com"
DRAIN_SECONDS = 2.0
"""relay-load.js waits this long after its send window before it prints."""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class CpuSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((time.monotonic(), cpu_seconds(self.pid)))
            self.stop.wait(0.2)

    def between(self, start: float, end: float) -> tuple[float, float]:
        """(CPU seconds, wall seconds) between the samples nearest `start` and `end`."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        (t0, c0), (t1, c1) = inside[0], inside[-1]
        return c1 - c0, t1 - t0


GENEROUS_LIMITS = {
    "TANDEM_LIMIT_ROOMS": "100000/minute",
    "TANDEM_LIMIT_USER_MESSAGES": "1000000/10 seconds;1000000/minute",
    "TANDEM_LIMIT_AGENT_MESSAGES": "1000000/10 seconds;1000000/minute",
    "TANDEM_MAX_SOCKETS_PER_AGENT": "100000",
}
"""Every limit counted, as in production, none reached by one load generator."""


def serve(
    tree: Path, db: str, password: str, log: Path, *, rate_limits: bool = False
) -> tuple[subprocess.Popen[bytes], int]:
    """`tandem serve` from `tree`'s code on a fresh database, with the bench agent (who may
    hold every room: relay-load.js joins them all), and rate limits off (or `rate_limits`:
    on, and generous)."""
    subprocess.run(["mariadb", "-uroot", "-e", f"CREATE DATABASE {db}"], check=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "TANDEM_DATABASE_URL": f"{MARIADB}/{db}",
        "TANDEM_JWT_SECRET": secrets.token_urlsafe(32),
        **(GENEROUS_LIMITS if rate_limits else {"TANDEM_RATE_LIMITS": "off"}),
    }
    subprocess.run(
        [*CLI, "agent", "add", EMAIL, "--name", "Bench", "--password-stdin"],
        input=password.encode(),
        env=env,
        cwd=tree,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["mariadb", "-uroot", db, "-e", "UPDATE agents SET max_chats = 1000000"], check=True
    )
    port = free_port()
    api = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)],
        env=env,
        cwd=tree,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    return api, port


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 60
    while not port_open(port):
        assert time.monotonic() < deadline, f"nothing listens on {port}"
        time.sleep(0.1)


def run_loads(
    seed_dir: Path, loads: list[tuple[str, int, list[str]]], seconds: float
) -> dict[str, dict[str, float]]:
    """Each (name, server pid, relay-load.js arguments) at once: every server's CPU over the
    same window, so a drift of the machine's speed falls on all of them."""
    samplers = {name: CpuSampler(pid) for name, pid, _ in loads}
    for sampler in samplers.values():
        sampler.start()
    generators = {
        name: subprocess.Popen(
            ["node", str(seed_dir / "relay-load.js"), *args], stdout=subprocess.PIPE, text=True
        )
        for name, _, args in loads
    }
    outputs = {name: load.communicate(timeout=300)[0] for name, load in generators.items()}
    window_end = time.monotonic() - DRAIN_SECONDS
    results = {}
    for name, sampler in samplers.items():
        sampler.stop.set()
        sampler.join()
        cpu, wall = sampler.between(window_end - 0.8 * seconds, window_end - 0.2 * seconds)
        result = json.loads(outputs[name].strip().splitlines()[-1])
        sent_per_s = result["sent"] / seconds  # what the open loop really sent (≈ the rate)
        result["cpu_us_per_msg"] = round(cpu / (sent_per_s * wall) * 1e6, 1)
        result["cpu_share"] = round(cpu / wall, 2)
        results[name] = result
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-dir", type=Path, required=True, help="the peer, npm-installed")
    parser.add_argument("--rates", default="2000,4000")
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--together",
        action="store_true",
        help="load both servers at once (each its own load generator), not one after the other",
    )
    args = parser.parse_args()
    seed_dir: Path = args.seed_dir.resolve()
    db = f"tandem_seed_peer_{secrets.token_hex(4)}"
    subprocess.run(
        ["mariadb", "-uroot", "-e", "CREATE DATABASE IF NOT EXISTS seed_bench"], check=True
    )
    seed_port = free_port()
    password = secrets.token_urlsafe(16)
    logs = tempfile.TemporaryDirectory()
    seed = subprocess.Popen(
        ["node", str(seed_dir / "server.js")],
        env={**os.environ, "PORT": str(seed_port), "DB_NAME": "seed_bench"},
        stdout=open(Path(logs.name) / "seed.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    api, api_port = serve(ROOT, db, password, Path(logs.name) / "api.log")
    try:
        wait_port(seed_port)
        wait_port(api_port)
        for rate in [int(r) for r in args.rates.split(",")]:
            for round_ in range(1, args.rounds + 1):
                common = [str(args.rooms), str(rate), str(args.seconds)]
                loads = [
                    ("seed", seed.pid, ["seed", f"http://127.0.0.1:{seed_port}", *common]),
                    (
                        "tandem",
                        api.pid,
                        [
                            "tandem",
                            f"http://127.0.0.1:{api_port}",
                            *common,
                            EMAIL,
                            password,
                        ],
                    ),
                ]
                if round_ % 2 == 0:
                    loads.reverse()  # who starts first
                runs = [loads] if args.together else [[load] for load in loads]
                for run in runs:
                    for name, result in run_loads(seed_dir, run, args.seconds).items():
                        print(json.dumps({"server": name, "round": round_, **result}), flush=True)
    finally:
        for process in (seed, api):
            process.terminate()
            process.wait(timeout=30)
        subprocess.run(["mariadb", "-uroot", "-e", f"DROP DATABASE {db}"], check=False)


if __name__ == "__main__":
    main()
