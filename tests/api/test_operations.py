"""Operations: probes, request ids, JSON logs without secrets, request limits, and a
graceful stop of ``tollgate serve``."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.test_bad_input import assert_error
from tests.conftest import OPERATOR_KEY
from tests.helpers import assert_ledger_sound, balance, create_account, grant
from tollgate import migrate
from tollgate.api import create_app
from tollgate.api.routes import health
from tollgate.config import Settings
from tollgate.db import Database
from tollgate.logs import JsonFormatter, RequestIdFilter

MiB = 1024 * 1024


def app_on(database: Database, **settings) -> TestClient:
    app = create_app(
        Settings(database_url=database.url, operator_keys=(OPERATOR_KEY,), **settings),
        database=database,
    )
    return TestClient(app, headers={"Authorization": f"Bearer {OPERATOR_KEY}"})


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict]]]:
    """Every record logged meanwhile, at every level and from every logger, formatted as
    ``tollgate serve`` formats it; the fixture's value parses the lines written so far."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


class TestProbes:
    def test_healthz_answers_without_a_key(self, anonymous):
        response = anonymous.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    def test_readyz_answers_ready_on_a_migrated_database(self, anonymous):
        response = anonymous.get("/readyz")
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ready", "schema": migrate.head_revision()}

    def test_readyz_is_503_on_a_database_never_migrated(self, tmp_path):
        database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        with app_on(database) as client:
            response = client.get("/readyz")
        database.dispose()
        assert_error(response, 503, "not_ready", "tollgate db upgrade")

    def test_readyz_is_503_on_a_database_one_migration_behind(self, tmp_path):
        database = Database(f"sqlite:///{tmp_path / 'behind.db'}")
        migrate.upgrade(database, "head-1")
        with app_on(database) as client:
            assert_error(client.get("/readyz"), 503, "not_ready", "not current")
        migrate.upgrade(database)
        with app_on(database) as client:
            assert client.get("/readyz").status_code == 200
        database.dispose()

    def test_readyz_is_503_when_the_database_is_unreachable(self, log_lines):
        # Nothing listens on port 1; the password must not reach the log either.
        database = Database("postgresql+psycopg://tollgate:s3cret-pw@127.0.0.1:1/tollgate")
        with app_on(database) as client:
            response = client.get("/readyz")
        database.dispose()
        assert_error(response, 503, "not_ready", "not reachable")
        assert "s3cret-pw" not in json.dumps(log_lines())
        assert any(line["message"].startswith("not ready") for line in log_lines())

    def test_readyz_does_not_wait_for_a_writer_on_sqlite(self, tmp_path, sqlite_template):
        path = tmp_path / "busy.db"
        path.write_bytes(sqlite_template.read_bytes())
        database = Database(f"sqlite:///{path}")
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        try:
            with app_on(database) as client:
                began = time.monotonic()
                assert client.get("/readyz").status_code == 200
                assert time.monotonic() - began < 5
        finally:
            writer.execute("ROLLBACK")
            writer.close()
            database.dispose()


class TestRequestIds:
    def test_a_callers_request_id_is_echoed(self, client):
        response = client.get("/v1/accounts/nobody", headers={"X-Request-Id": "trace-42 abc"})
        assert response.status_code == 404
        assert response.headers["x-request-id"] == "trace-42 abc"

    def test_a_request_id_is_made_up_when_none_is_given(self, client):
        first = client.get("/healthz").headers["x-request-id"]
        second = client.get("/healthz").headers["x-request-id"]
        assert len(first) == 32 and int(first, 16) >= 0
        assert first != second

    @pytest.mark.parametrize(
        "given", ["x" * 129, b"caf\xe9", "tab\there"], ids=["too-long", "not-ascii", "control"]
    )
    def test_an_unreasonable_request_id_is_replaced(self, client, given):
        response = client.get("/healthz", headers={"X-Request-Id": given})
        assert len(response.headers["x-request-id"]) == 32

    def test_every_answer_carries_one(self, client, anonymous):
        answers = [
            anonymous.get("/v1/accounts/acme"),  # 401
            client.get("/no/such/endpoint"),  # 404
            client.delete("/v1/accounts"),  # 405
            client.post("/v1/usage/batch", content=b"[" * (2 * MiB + 1)),  # 413
            client.post("/v1/accounts", json={}),  # 422
        ]
        assert [a.status_code for a in answers] == [401, 404, 405, 413, 422]
        assert all(len(a.headers["x-request-id"]) == 32 for a in answers)


class TestLogs:
    def test_each_request_writes_one_access_line_with_its_id(self, client, log_lines):
        create_account(client, "acme")
        response = client.get("/v1/accounts/acme/balance", headers={"X-Request-Id": "req-1"})
        assert response.status_code == 200
        (access,) = [
            line
            for line in log_lines()
            if line["logger"] == "tollgate.access" and line["request_id"] == "req-1"
        ]
        assert access["method"] == "GET"
        assert access["path"] == "/v1/accounts/acme/balance"
        assert access["status"] == 200
        assert access["duration_ms"] >= 0
        assert access["level"] == "INFO"
        assert access["timestamp"].endswith("Z")

    def test_lines_logged_while_serving_carry_the_request_id(self, tmp_path, log_lines):
        # A not-ready /readyz logs a warning from the worker thread serving it.
        database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        with app_on(database) as client:
            client.get("/readyz", headers={"X-Request-Id": "probe-7"})
        database.dispose()
        warning = next(line for line in log_lines() if line["level"] == "WARNING")
        assert warning["logger"] == "tollgate.api"
        assert warning["request_id"] == "probe-7"

    def test_an_unexpected_error_is_logged_with_the_request_id(
        self, client, log_lines, monkeypatch
    ):
        def broken(_database):
            raise RuntimeError("boom")

        monkeypatch.setattr(health.migrate, "is_current", broken)
        response = client.get("/readyz", headers={"X-Request-Id": "oops-1"})
        assert_error(response, 500, "internal_error", "oops-1")
        assert response.headers["x-request-id"] == "oops-1"
        (error,) = [line for line in log_lines() if line["level"] == "ERROR"]
        assert error["request_id"] == "oops-1"
        assert "RuntimeError: boom" in error["exception"]

    def test_successful_probes_are_logged_at_debug_only(self, anonymous, log_lines):
        anonymous.get("/healthz")
        (access,) = [line for line in log_lines() if line["logger"] == "tollgate.access"]
        assert access["level"] == "DEBUG"

    def test_no_key_and_no_idempotency_key_is_ever_logged(self, client, anonymous, log_lines):
        create_account(client, "acme")
        idempotency_key = "idem-7f3a9c2e-5b1d-4e8f-a6c0-secret"
        grant(client, "acme", "10")
        granted = client.post(
            "/v1/accounts/acme/credits",
            json={"amount": "5"},
            headers={"Idempotency-Key": idempotency_key},
        )
        assert granted.status_code == 201
        created = client.post(
            "/v1/accounts/acme/api-keys", json={"name": "ci", "rights": ["consumption.view"]}
        )
        assert created.status_code == 201, created.text
        account_key = created.json()["key"]
        as_account = {"Authorization": f"Bearer {account_key}"}
        assert anonymous.get("/v1/accounts/acme/balance", headers=as_account).status_code == 200
        assert anonymous.post("/v1/usage", json={}, headers=as_account).status_code == 403
        wrong = {"Authorization": f"Bearer {OPERATOR_KEY}-but-wrong"}
        assert anonymous.get("/v1/accounts/acme", headers=wrong).status_code == 401
        client.delete(f"/v1/accounts/acme/api-keys/{created.json()['id']}")
        assert anonymous.get("/v1/accounts/acme/balance", headers=as_account).status_code == 401

        written = json.dumps(log_lines())
        assert len(log_lines()) >= 8
        for secret in (OPERATOR_KEY, account_key, idempotency_key):
            assert secret not in written
        assert "Bearer" not in written and "authorization" not in written.lower()


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A body sent chunked: no Content-Length tells the server how long it is."""
    while total > 0:
        yield b" " * min(size, total)
        total -= size


class TestLimits:
    def test_a_body_over_the_limit_is_413(self, client):
        create_account(client, "acme")
        response = client.post(
            "/v1/usage/batch",
            content=b" " * (2 * MiB + 1),
            headers={"Content-Type": "application/json"},
        )
        assert_error(response, 413, "payload_too_large", "2097152 bytes")

    def test_a_chunked_body_over_the_limit_is_413(self, client):
        response = client.post(
            "/v1/usage/batch", content=chunks(3 * MiB), headers={"Content-Type": "application/json"}
        )
        assert "content-length" not in response.request.headers
        assert_error(response, 413, "payload_too_large", "smaller parts")

    def test_the_limit_is_the_settings_and_is_exact(self, database):
        with app_on(database, max_body_bytes=1000) as client:
            client.headers["Content-Type"] = "application/json"
            at_limit = b'{"id": "acme", "name": "' + b"a" * 150 + b'", "unit": "EUR"}'
            at_limit = at_limit + b" " * (1000 - len(at_limit))
            assert client.post("/v1/accounts", content=at_limit).status_code == 201
            over = b" " + at_limit
            assert_error(client.post("/v1/accounts", content=over), 413, "payload_too_large")
            assert_error(
                client.post("/v1/accounts", content=chunks(1001, size=100)),
                413,
                "payload_too_large",
            )
            assert client.get("/v1/accounts/acme").status_code == 200

    def test_a_price_list_may_be_larger(self, database):
        rows = [
            {"channel": "sms", "destination": f"+{33600 + n}", "price": "0.01"} for n in range(40)
        ]
        with app_on(database, max_body_bytes=1000, max_price_list_body_bytes=100_000) as client:
            response = client.put("/v1/price-lists/big", json={"unit": "EUR", "rows": rows})
            assert len(response.request.content) > 1000
            assert response.status_code == 201, response.text

    def test_a_refused_body_changes_nothing(self, client):
        create_account(client, "acme")
        event = {
            "id": "e-0",
            "account_id": "acme",
            "channel": "email",
            "count": 1,
            "occurred_at": "2026-01-01T00:00:00Z",
            "text": "x" * 10_000,
        }
        events = [{**event, "id": f"e-{n}"} for n in range(300)]  # ~3 MB
        response = client.post("/v1/usage/batch", json={"events": events})
        assert_error(response, 413, "payload_too_large")
        assert balance(client, "acme")["available"] == "0"

    def test_a_batch_holds_at_most_1000_events(self, client):
        response = client.post("/v1/usage/batch", json={"events": [{}] * 1001})
        assert_error(response, 422, "invalid_request", "at most 1000")

    def test_a_journal_page_holds_at_most_500_entries(self, client):
        create_account(client, "acme")
        assert client.get("/v1/accounts/acme/journal", params={"limit": 500}).status_code == 200
        response = client.get("/v1/accounts/acme/journal", params={"limit": 501})
        assert_error(response, 422, "invalid_request", "limit must be at most 500")

    @pytest.mark.parametrize(
        ("path", "body", "field"),
        [
            ("/v1/accounts", {"id": "a" * 65, "name": "A", "unit": "EUR"}, "id"),
            ("/v1/accounts", {"id": "acme", "name": "n" * 201, "unit": "EUR"}, "name"),
            ("/v1/accounts/acme/credits", {"amount": "1", "memo": "m" * 501}, "memo"),
            ("/v1/accounts/acme/credits", {"amount": "1", "source": "s" * 41}, "source"),
            ("/v1/accounts/acme/reservations", {"amount": "1", "list_id": "l" * 129}, "list_id"),
            (
                "/v1/usage",
                {
                    "id": "e" * 129,
                    "account_id": "acme",
                    "channel": "sms",
                    "occurred_at": "2026-01-01T00:00:00Z",
                },
                "id",
            ),
            ("/v1/authorizations", {"account_id": "acme", "to": "+" + "3" * 40}, "to"),
        ],
        ids=["account-id", "account-name", "memo", "source", "list-id", "event-id", "to"],
    )
    def test_an_over_long_string_is_422(self, client, path, body, field):
        create_account(client, "acme")
        response = client.post(path, json=body)
        assert_error(response, 422, "invalid_request", field)

    def test_an_over_long_price_row_field_is_422(self, client):
        row = {"channel": "sms", "destination": "+" + "3" * 40, "price": "0.01"}
        response = client.put("/v1/price-lists/default", json={"unit": "EUR", "rows": [row]})
        assert_error(response, 422, "invalid_request", "destination")


LONG = "x" * 5000

# Ids that name stored things are looked up: too long, they name nothing (404). Ids a
# request defines (a list, a price list) are checked for their form first (422).
LONG_PATHS = [
    ("GET", f"/v1/accounts/{LONG}", None, 404),
    ("PATCH", f"/v1/accounts/{LONG}", {"name": "x"}, 404),
    ("GET", f"/v1/accounts/{LONG}/balance", None, 404),
    ("GET", f"/v1/accounts/{LONG}/journal", None, 404),
    ("POST", f"/v1/accounts/{LONG}/credits", {"amount": "1"}, 404),
    ("POST", f"/v1/accounts/{LONG}/reservations", {"amount": "1"}, 404),
    ("GET", f"/v1/accounts/{LONG}/api-keys", None, 404),
    ("DELETE", f"/v1/accounts/acme/api-keys/{LONG}", None, 404),
    ("PUT", f"/v1/accounts/{LONG}/lists/support/allocation", {"amount": "1"}, 404),
    ("PUT", f"/v1/accounts/acme/lists/{LONG}/allocation", {"amount": "1"}, 422),
    ("DELETE", f"/v1/accounts/acme/lists/{LONG}/allocation", None, 422),
    ("GET", f"/v1/reservations/{LONG}", None, 404),
    ("POST", f"/v1/reservations/{LONG}/capture", {"amount": "1"}, 404),
    ("POST", f"/v1/reservations/{LONG}/release", None, 404),
    ("POST", f"/v1/authorizations/{LONG}/extend", None, 404),
    ("POST", f"/v1/authorizations/{LONG}/capture", {"duration_seconds": 1}, 404),
    ("POST", f"/v1/authorizations/{LONG}/release", None, 404),
    ("GET", f"/v1/price-lists/{LONG}", None, 422),
    ("GET", f"/v1/price-lists/{LONG}/versions", None, 422),
    ("GET", f"/v1/price-lists/{LONG}/versions/1", None, 422),
    (
        "PUT",
        f"/v1/price-lists/{LONG}",
        {"unit": "EUR", "rows": [{"channel": "sms", "price": "1"}]},
        422,
    ),
]


class TestUnknownAndOverLongPaths:
    def test_an_over_long_id_in_a_path_is_a_clean_4xx(self, client):
        create_account(client, "acme")
        for method, path, body, status in LONG_PATHS:
            response = client.request(method, path, json=body)
            assert response.status_code == status, (method, path[:60], response.text[:200])
            assert set(response.json()["error"]) == {"code", "message"}

    def test_an_unknown_path_is_a_json_404(self, client):
        assert_error(client.get("/v2/anything"), 404, "not_found", "/openapi.json")

    def test_a_wrong_method_is_a_json_405_naming_the_right_ones(self, client):
        response = client.post("/v1/accounts/acme")
        assert_error(response, 405, "method_not_allowed", "GET, PATCH")
        assert response.headers["allow"] == "GET, PATCH"


# -- a real server ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(base: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {OPERATOR_KEY}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


@pytest.mark.slow
class TestGracefulShutdown:
    IN_FLIGHT = 6

    def test_sigterm_lets_requests_in_flight_finish_then_exits_0(self, tmp_path: Path):
        path = tmp_path / "serve.db"
        env = {
            **os.environ,
            "TOLLGATE_DATABASE_URL": f"sqlite:///{path}",
            "TOLLGATE_OPERATOR_KEY": OPERATOR_KEY,
            "TOLLGATE_GRACEFUL_SHUTDOWN_SECONDS": "20",
        }
        command = [sys.executable, "-m", "tollgate.cli"]
        subprocess.run(
            [*command, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = tmp_path / "serve.log"
        with log_path.open("w") as log:
            server = subprocess.Popen(
                [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=log,
            )
            try:
                self._wait_until_up(base, server)
                assert (
                    call(
                        base, "POST", "/v1/accounts", {"id": "acme", "name": "Acme", "unit": "EUR"}
                    )[0]
                    == 201
                )
                # Hold SQLite's write lock: each grant then waits inside the server.
                writer = sqlite3.connect(path, isolation_level=None)
                writer.execute("BEGIN IMMEDIATE")
                with ThreadPoolExecutor(self.IN_FLIGHT) as pool:
                    grants = [
                        pool.submit(
                            call, base, "POST", "/v1/accounts/acme/credits", {"amount": "1"}
                        )
                        for _ in range(self.IN_FLIGHT)
                    ]
                    time.sleep(1.5)  # ample for the server to have read every request
                    assert not any(g.done() for g in grants)
                    server.send_signal(signal.SIGTERM)
                    time.sleep(1)
                    assert server.poll() is None, "stopped without waiting for its requests"
                    with pytest.raises(urllib.error.URLError):
                        call(base, "GET", "/healthz")  # no new connection is taken
                    writer.execute("ROLLBACK")
                    writer.close()
                    answers = [g.result(timeout=30) for g in grants]
                assert [status for status, _ in answers] == [201] * self.IN_FLIGHT
                assert server.wait(timeout=30) == 0
            finally:
                if server.poll() is None:
                    server.kill()
                    server.wait()

        database = Database(env["TOLLGATE_DATABASE_URL"])
        with app_on(database) as client:
            assert balance(client, "acme")["available"] == str(self.IN_FLIGHT)
        assert_ledger_sound(database, "acme")
        database.dispose()
        lines = [json.loads(line) for line in log_path.read_text().splitlines()]
        granted = [line for line in lines if line.get("path") == "/v1/accounts/acme/credits"]
        assert [line["status"] for line in granted] == [201] * self.IN_FLIGHT
        assert len({line["request_id"] for line in granted}) == self.IN_FLIGHT

    @staticmethod
    def _wait_until_up(base: str, server: subprocess.Popen) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert server.poll() is None, "tollgate serve exited at start-up"
            try:
                if call(base, "GET", "/readyz")[0] == 200:
                    return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        pytest.fail("tollgate serve did not become ready within 30 s")
