"""Every shell example in docs/*.md, run in document order against a live server.

A reader pastes these lines into a terminal; so does this test. The ``tollgate``
lines set up a fresh SQLite installation (``tollgate serve`` starts on a free port of
127.0.0.1 with the operator key the docs give it), ``export`` sets ``$TG`` and
``$AUTH`` (``$TG`` pointed at that server), and each ``curl`` runs through bash with
the real curl binary (or, where there is none, the same request through httpx2).
Ids the docs elide (``res_…``, ``auth_…``, ``key_…``) are the newest ids of that
kind in earlier answers. Each example must answer 2xx, or exactly the status its
comment documents (``# → 402`` or ``(204)``).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.reliability.live import free_port

DOCS = Path(__file__).resolve().parents[1] / "docs"
COMMAND = [sys.executable, "-m", "tollgate.cli"]
ELIDED_ID = re.compile(r"\b([a-z]+_)…")
DOCUMENTED_STATUS = re.compile(r"(?:→|\()\s*([1-5]\d\d)\b")
SERVE = re.compile(r"^(?:TOLLGATE_OPERATOR_KEY=(\S+) )?tollgate serve\b")


@dataclass(frozen=True)
class Example:
    source: str  # file:line, for the failure message
    command: str  # the logical line, continuations joined
    expected: int | None  # the documented status, if any


def shell_examples(path: Path) -> Iterator[Example]:
    """The logical lines of every ``sh`` block: backslash-newline joined, and a line
    whose quote is still open (a JSON body spread over lines) joined to the next."""
    lines = path.read_text(encoding="utf-8").splitlines()
    in_block = False
    pending: list[str] = []
    start = 0
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            in_block = line.strip() == "```sh" and not in_block
            continue
        if not in_block:
            continue
        if not pending:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start = number
        pending.append(line)
        if line.endswith("\\") or not _quotes_closed("\n".join(pending)):
            continue
        command = "\n".join(pending)
        pending = []
        following = lines[number] if number < len(lines) else ""
        comment = command.split(" # ", 1)[1] if " # " in command else ""
        if following.lstrip().startswith("# →"):
            comment += following
        found = DOCUMENTED_STATUS.search(comment)
        yield Example(f"{path.name}:{start}", command, int(found.group(1)) if found else None)
    assert not pending, f"{path.name}: unterminated example at line {start}"


def _quotes_closed(text: str) -> bool:
    try:
        shlex.split(text, comments=True)
    except ValueError:
        return False
    return True


def documented_examples() -> list[Example]:
    examples = []
    for path in sorted(DOCS.glob("*.md")):
        found = list(shell_examples(path))
        if any(e.command.lstrip().startswith("curl") for e in found):
            examples.extend(found)
    return examples


class Reader:
    """Runs the examples as a reader would, remembering what earlier answers said."""

    def __init__(self, tmp_path: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
        self.env["TOLLGATE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'docs.db'}"
        self.log = tmp_path / "serve.log"
        self.server: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self.ids: dict[str, str] = {}
        self.curl = shutil.which("curl")

    def run(self, example: Example) -> None:
        command = example.command.strip()
        if served := SERVE.match(command):
            self.serve(served.group(1))
        elif command.startswith("tollgate "):
            self.tollgate(example, shlex.split(command, comments=True)[1:])
        elif command.startswith("export "):
            for word in shlex.split(command, comments=True)[1:]:
                name, _, value = word.partition("=")
                if name == "TG":
                    assert self.base_url, f"{example.source}: $TG set before serving"
                    value = self.base_url
                # The test's fresh file stands in for the reader's database.
                if name != "TOLLGATE_DATABASE_URL":
                    self.env[name] = value
        elif command.startswith("curl "):
            self.request(example, command)
        else:
            raise AssertionError(f"{example.source}: no rule to run {command!r}")

    def tollgate(self, example: Example, arguments: list[str]) -> None:
        done = subprocess.run(
            [*COMMAND, *arguments],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{example.source}: {done.stdout}{done.stderr}"

    def serve(self, operator_key: str | None) -> None:
        assert operator_key, "the docs must say which operator key the server uses"
        self.env["TOLLGATE_OPERATOR_KEY"] = operator_key
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        with self.log.open("ab") as log:
            self.server = subprocess.Popen(
                [*COMMAND, "serve", "--host", "127.0.0.1", "--port", str(port)],
                env={**self.env, "TOLLGATE_LOG_LEVEL": "warning"},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.server.poll() is None, self.log.read_text()
            try:
                if httpx2.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx2.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"tollgate serve not ready:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.server is not None:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait(timeout=30)

    def request(self, example: Example, command: str) -> None:
        def known(match: re.Match[str]) -> str:
            prefix = match.group(1)
            assert prefix in self.ids, f"{example.source}: no earlier answer gave a {prefix}… id"
            return self.ids[prefix]

        command = ELIDED_ID.sub(known, command)
        status, body = self._curl(command) if self.curl else self._httpx(command)
        wanted = example.expected
        ok = status == wanted if wanted else 200 <= status < 300
        assert ok, f"{example.source}: {command}\n→ {status} {body}"
        try:
            answer: Any = json.loads(body) if body else None
        except ValueError:
            return
        if isinstance(answer, dict) and isinstance(answer.get("id"), str):
            prefix = answer["id"].split("_", 1)[0] + "_"
            self.ids[prefix] = answer["id"]

    def _curl(self, command: str) -> tuple[int, str]:
        # The line runs as pasted; a function adds the status after the body.
        wrapper = 'curl() { command curl -w "\\n%{http_code}" "$@"; }\n'
        done = subprocess.run(
            ["bash", "-c", wrapper + command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"{command}\ncurl failed: {done.stderr}"
        body, _, status = done.stdout.rpartition("\n")
        return int(status), body

    def _httpx(self, command: str) -> tuple[int, str]:
        command = command.replace("\\\n", " ")
        for name in ("TG", "AUTH"):
            command = command.replace(f"${name}", self.env[name])
        words = iter(shlex.split(command, comments=True)[1:])
        method, url, headers, data = "GET", "", {}, None
        for word in words:
            if word in ("-X", "--request"):
                method = next(words)
            elif word.startswith("-") and word.endswith("X") and not word.startswith("--"):
                method = next(words)  # -sX POST
            elif word in ("-H", "--header"):
                name, _, value = next(words).partition(":")
                headers[name.strip()] = value.strip()
            elif word in ("-d", "--data"):
                data = next(words)
                method = "POST" if method == "GET" else method
            elif word.startswith("-"):
                continue
            else:
                url = word
        if data is not None:
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        response = httpx2.request(method, url, headers=headers, content=data, timeout=60)
        return response.status_code, response.text


EXAMPLES = documented_examples()


def test_the_docs_have_examples_to_run() -> None:
    assert sum(e.command.startswith("curl") for e in EXAMPLES) >= 20
    assert any(SERVE.match(e.command) for e in EXAMPLES)


@pytest.mark.slow
def test_every_documented_example_answers_as_documented(tmp_path: Path) -> None:
    reader = Reader(tmp_path)
    try:
        for example in EXAMPLES:
            reader.run(example)
    finally:
        reader.stop()
