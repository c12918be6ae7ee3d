"""Two Tandem trees served side by side under the same load at the same time: a change's cost per
message, measured to a few per cent on a machine whose speed drifts by more than that.

Runs one after the other (bench/seed_peer.py, bench/relay.py) move with the machine: on these
VMs by ±15 % within minutes, more than most single changes save. Here both APIs (each from its
own tree, its own MariaDB database) are loaded together by two `relay-load.js` (the seed peer's
load generator: R rooms, a user and an agent socket each, an open loop at a fixed rate), and
each API's CPU is sampled over the same window, so a drift falls on both. Each round prints
both figures; the end, the mean paired difference and its spread. Two runs of one tree against
itself differed by 0.2 % (standard deviation of the difference 1.9 µs over four rounds).

    git worktree add --detach /tmp/base main && ln -s "$PWD/.venv" /tmp/base/.venv
    .venv/bin/python bench/ab.py --seed-dir /tmp/seed-node --base /tmp/base --new . --rounds 6

Only 127.0.0.1 is contacted; each round stops by itself.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from seed_peer import EMAIL, run_loads, serve, wait_port  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-dir", type=Path, required=True, help="the peer, npm-installed")
    parser.add_argument("--base", type=Path, required=True, help="a tree of the code before")
    parser.add_argument("--new", type=Path, required=True, help="a tree of the code after")
    parser.add_argument("--rate", type=int, default=2000, help="messages/s offered to each")
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument(
        "--rate-limits", action="store_true", help="limits on (generous), as in production"
    )
    args = parser.parse_args()
    password = secrets.token_urlsafe(16)
    trees = {"base": args.base.resolve(), "new": args.new.resolve()}
    suffix = secrets.token_hex(3)
    dbs = [f"tandem_ab_{name}_{suffix}" for name in trees]
    logs = tempfile.TemporaryDirectory()
    apis: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    figures: dict[str, list[float]] = {name: [] for name in trees}
    try:
        for (name, tree), db in zip(trees.items(), dbs, strict=True):
            log = Path(logs.name) / f"{name}.log"
            apis[name] = serve(tree, db, password, log, rate_limits=args.rate_limits)
        for _, port in apis.values():
            wait_port(port)
        for round_ in range(1, args.rounds + 1):
            order = list(apis) if round_ % 2 else list(reversed(apis))  # who starts first
            loads = [
                (
                    name,
                    apis[name][0].pid,
                    [
                        "tandem",
                        f"http://127.0.0.1:{apis[name][1]}",
                        str(args.rooms),
                        str(args.rate),
                        str(args.seconds),
                        EMAIL,
                        password,
                    ],
                )
                for name in order
            ]
            results = run_loads(args.seed_dir, loads, args.seconds)
            parts = []
            for name in trees:
                result = results[name]
                figures[name].append(result["cpu_us_per_msg"])
                parts.append(
                    f"{name} {result['cpu_us_per_msg']:.0f} µs, p99 {result['p99_ms']} ms, "
                    f"lost {result['lost']}"
                )
            print(f"round {round_}: " + " | ".join(parts), flush=True)
        differences = [n - b for b, n in zip(figures["base"], figures["new"], strict=True)]
        mean = statistics.mean(differences)
        spread = statistics.stdev(differences) if len(differences) > 1 else float("nan")
        base = statistics.mean(figures["base"])
        print(
            f"base mean {base:.1f} µs, new mean {statistics.mean(figures['new']):.1f} µs; "
            f"new − base {mean:+.1f} µs ({100 * mean / base:+.1f} %), "
            f"standard deviation of the difference {spread:.1f} µs"
        )
    finally:
        for api, _ in apis.values():
            api.terminate()
            api.wait(timeout=30)
        for db in dbs:
            subprocess.run(["mariadb", "-uroot", "-e", f"DROP DATABASE IF EXISTS {db}"])


if __name__ == "__main__":
    main()
