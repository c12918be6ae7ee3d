"""Does a password check stall everyone else? `/healthz` latency while clients fail logins.

The API runs as `tandem serve` in its own process on a scratch SQLite file, with rate limits
off (throttled 429s would make it trivial); `--clients` tasks post wrong passwords in a loop
(argon2 verifies each one) while one task times `/healthz` every 20 ms. One argon2 check costs
~50 ms of CPU and 64 MiB on our machines (api/auth.py runs them on a small thread pool).

    .venv/bin/python bench/login_stall.py --clients 8 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import free_port  # noqa: E402


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(300):
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the API did not start")


async def fail_logins(base: str, email: str, stop: asyncio.Event, counts: list[int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while not stop.is_set():
            response = await http.post(
                "/api/auth/token", data={"username": email, "password": "wrong-password"}
            )
            assert response.status_code == 401, response.text
            counts.append(1)


async def time_health(base: str, stop: asyncio.Event) -> list[float]:
    samples: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while not stop.is_set():
            started = time.perf_counter()
            response = await http.get("/healthz")
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
            await asyncio.sleep(0.02)
    return samples


async def measure(base: str, email: str, clients: int, seconds: float) -> None:
    await wait_ready(base)
    idle = asyncio.Event()
    asyncio.get_running_loop().call_later(2, idle.set)
    baseline = await time_health(base, idle)
    stop = asyncio.Event()
    counts: list[int] = []
    loaders = [asyncio.create_task(fail_logins(base, email, stop, counts)) for _ in range(clients)]
    asyncio.get_running_loop().call_later(seconds, stop.set)
    loaded = await time_health(base, stop)
    await asyncio.gather(*loaders)
    rate = len(counts) / seconds
    print(f"{clients} clients failing logins for {seconds:.0f} s: {rate:.1f} logins/s")
    for name, samples in (("idle", baseline), ("under login load", loaded)):
        p99 = sorted(samples)[int(len(samples) * 0.99)]
        print(
            f"/healthz {name:>16}: n={len(samples):4d}  median {statistics.median(samples):6.1f}"
            f" ms  p99 {p99:6.1f} ms  max {max(samples):6.1f} ms"
        )
    print("target under load: median < 20 ms, max < 200 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "TANDEM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
            "TANDEM_JWT_SECRET": secrets.token_urlsafe(48),
            "TANDEM_RATE_LIMITS": "off",
        }
        email = "bench@tandem.local"
        add = [sys.executable, "-m", "api.cli", "agent", "add", email, "--name", "Bench"]
        subprocess.run(
            [*add, "--password-stdin"],
            input=b"right-password\n",
            env=env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        port = free_port()
        serve = [sys.executable, "-m", "api.cli", "serve", "--port", str(port)]
        api = subprocess.Popen(
            serve, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            asyncio.run(measure(f"http://127.0.0.1:{port}", email, args.clients, args.seconds))
        finally:
            api.terminate()
            api.wait(10)


if __name__ == "__main__":
    main()
