"""``tollgate serve`` as a real process, and a client that talks to it over HTTP.

The server runs in a process group of its own, so that one ``SIGKILL`` to the group
takes down the supervisor and every worker at once — as a crash or an OOM kill would —
and nothing outlives the test. Everything listens and connects on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Self

import httpx2

from tests.conftest import OPERATOR_KEY

HOST = "127.0.0.1"
COMMAND = [sys.executable, "-m", "tollgate.cli"]
START_TIMEOUT = 30.0


def _environment(database_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # The server must run with the defaults an operator gets (synchronous=FULL…).
        if not key.startswith("TOLLGATE_")
    }
    env.update(
        TOLLGATE_DATABASE_URL=database_url,
        TOLLGATE_OPERATOR_KEY=OPERATOR_KEY,
        TOLLGATE_LOG_LEVEL="warning",
        PYTHONUNBUFFERED="1",
    )
    return env


def upgrade_schema(database_url: str) -> None:
    """``tollgate db upgrade``, run as an operator would."""
    done = subprocess.run(
        [*COMMAND, "db", "upgrade"],
        env=_environment(database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"tollgate db upgrade failed:\n{done.stdout}\n{done.stderr}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class LiveServer:
    """``tollgate serve --workers N`` on a free port of 127.0.0.1; restartable.

    The port is kept across restarts, so clients keep their base URL; ``lives`` counts
    the starts (a client can tell which life of the server answered it).
    """

    def __init__(self, database_url: str, log_path: Path, *, workers: int = 1) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.lives = 0
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self._process is None, "already running"
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.lives + 1} ---\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                [
                    *COMMAND,
                    "serve",
                    "--host",
                    HOST,
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                env=_environment(self.database_url),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.lives += 1
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        with httpx2.Client(timeout=2.0) as probe:
            while time.monotonic() < deadline:
                assert self._process is not None
                if self._process.poll() is not None:
                    self._process = None
                    raise AssertionError(f"tollgate serve exited at start:\n{self.log_tail()}")
                try:
                    if probe.get(f"{self.base_url}/readyz").status_code == 200:
                        return
                except httpx2.TransportError:
                    pass
                time.sleep(0.05)
        self.kill()
        raise AssertionError(f"tollgate serve not ready in {START_TIMEOUT}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL to the whole process group: no shutdown handler runs."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        # Workers of a multi-process server are children of the killed supervisor:
        # wait until the group is gone so that none still holds a connection or lock.
        deadline = time.monotonic() + 10
        while _group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.02)

    def processes(self) -> int:
        """How many processes of the server's group are alive (Linux /proc; 0 if unknown)."""
        if self._process is None:
            return 0
        return len(list(_group_members(self._process.pid)))

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _group_members(group: int) -> Iterable[int]:
    proc = Path("/proc")
    if not proc.is_dir():
        return
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # Fields after the command name (which may hold spaces): state ppid pgrp…
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if fields[0] != "Z" and int(fields[2]) == group:
            yield int(entry.name)


def _group_alive(group: int) -> bool:
    if Path("/proc").is_dir():
        return any(True for _ in _group_members(group))
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


class Api:
    """A thin operator client: JSON in, ``(status, json)`` out; raises on no answer."""

    def __init__(self, server: LiveServer, *, timeout: float = 30.0) -> None:
        self.server = server
        self.client = httpx2.Client(
            timeout=timeout, headers={"Authorization": f"Bearer {OPERATOR_KEY}"}
        )

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = self.client.request(method, f"{self.server.base_url}{path}", json=body)
        try:
            answer = response.json()
        except ValueError:
            answer = response.text
        return response.status_code, answer

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.call(method, path, body)
        assert 200 <= status < 300, f"{method} {path}: {status} {answer}"
        return answer

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
