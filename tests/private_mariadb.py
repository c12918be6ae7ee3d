"""A MariaDB of our own for fault tests: the shared one on 3306 must keep running, so a test
that kills the database kills this one (~5 s to start)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from db.engine import create_engine
from tests.conftest import free_port, port_open


class PrivateMariaDB:
    """One data directory: killed with -9 and started again on the same data, as after a
    crash."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="tandem-mariadb-"))  # mysql must reach it
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mysql+asyncmy://root@127.0.0.1:{self.port}/tandem"

    def install(self) -> None:
        subprocess.run(["chown", "mysql:mysql", str(self.dir)], check=True)
        install = [
            "mariadb-install-db", "--user=mysql", f"--datadir={self.dir}/data",
            "--auth-root-authentication-method=normal",
        ]  # fmt: skip
        subprocess.run(install, check=True, timeout=120, capture_output=True)

    def start(self) -> None:
        server = [
            "mariadbd", "--no-defaults", f"--datadir={self.dir}/data", f"--port={self.port}",
            f"--socket={self.dir}/s.sock", "--user=mysql", "--bind-address=127.0.0.1",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            server, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while not port_open(self.port):
            assert self.process.poll() is None, "private mariadbd exited"
            assert time.monotonic() < deadline, "private mariadbd did not start"
            time.sleep(0.05)

    async def create_database(self) -> None:
        """The empty `tandem` database `url` names (the API creates its tables)."""
        root = create_engine(f"mysql+asyncmy://root@127.0.0.1:{self.port}/")
        try:
            async with root.begin() as conn:
                await conn.execute(sa.text("CREATE DATABASE tandem CHARACTER SET utf8mb4"))
        finally:
            await root.dispose()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[PrivateMariaDB]:
        if shutil.which("mariadbd") is None:
            pytest.skip("mariadbd is not installed")
        mariadb = cls()
        try:
            mariadb.install()
            mariadb.start()
            yield mariadb
        finally:
            mariadb.kill()
            shutil.rmtree(mariadb.dir, ignore_errors=True)
