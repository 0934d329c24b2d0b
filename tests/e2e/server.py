"""A real gunicorn on PostgreSQL for end-to-end tests, real principals from the CLI, and a stdlib HTTP client."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0  # seconds gunicorn may take to answer /api/v1/health


def round_windows(self_assessment_closes: datetime) -> dict[str, dict[str, str]]:
    """Windows of a round opened on the real clock: self-assessment open since an hour ago until the given close,
    the explanation window from that close for two hours."""
    now = datetime.now(UTC)
    return {
        "self_assessment": {"opens_at": (now - timedelta(hours=1)).isoformat(),
                            "closes_at": self_assessment_closes.isoformat()},
        "explanation": {"opens_at": self_assessment_closes.isoformat(),
                        "closes_at": (self_assessment_closes + timedelta(hours=2)).isoformat()},
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    def __str__(self) -> str:  # what an assertion message shows
        return f"{self.status} {self.media_type} {self.body[:2000].decode(errors='replace')}"


@dataclass
class Client:
    """One principal speaking HTTP/1.1 to the server (a new connection per request, so threads may share it)."""

    port: int
    token: str | None = None
    name: str = "anonymous"

    def request(self, method: str, path: str, json_body: Any = None, *, body: bytes | None = None,
                headers: Mapping[str, str] | None = None, timeout: float = 60.0) -> Answer:
        sent = dict(headers or {})
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent.setdefault("Content-Type", "application/json")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        finally:
            connection.close()

    def get(self, path: str, **kw: Any) -> Answer:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> Answer:
        return self.request("POST", path, json_body, **kw)

    def put(self, path: str, json_body: Any = None, **kw: Any) -> Answer:
        return self.request("PUT", path, json_body, **kw)

    def upload(self, path: str, content: bytes, filename: str, media_type: str,
               form: Mapping[str, str] | None = None) -> Answer:
        """multipart/form-data: the file under `file`, metadata as plain fields."""
        boundary = f"----par-council-{uuid.uuid4().hex}"
        parts = []
        for name, value in (form or {}).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                         + value.encode() + b"\r\n")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                     f"Content-Type: {media_type}\r\n\r\n".encode() + content + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("POST", path, body=body,
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


@dataclass
class Server:
    """gunicorn serving wsgi:app on a schema of its own; its output goes to a log file."""

    database_url: str
    workdir: Path
    workers: int = 2
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        return os.environ | {"COUNCIL_DATABASE_URL": self.database_url,
                             "COUNCIL_EVIDENCE_DIR": str(self.workdir / "evidence"),
                             "COUNCIL_POOL_SIZE": "4", "PYTHONUNBUFFERED": "1"}

    @property
    def log_path(self) -> Path:
        return self.workdir / "gunicorn.log"

    def cli(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "council.cli.main", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise AssertionError(f"council {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
        return done.stdout

    def add_principals(self, people: Mapping[str, list[str]]) -> dict[str, str]:
        """`council principals add NAME ...` for each, run side by side; returns name → printed token."""
        running = {
            name: subprocess.Popen([sys.executable, "-m", "council.cli.main", "principals", "add", name, *options],
                                   cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name, options in people.items()
        }
        tokens = {}
        for name, process in running.items():
            out, err = process.communicate(timeout=120)
            if process.returncode != 0:
                raise AssertionError(f"principals add {name} exited {process.returncode}:\n{out}{err}")
            tokens[name] = next(line.removeprefix("token: ").strip() for line in out.splitlines()
                                if line.startswith("token: "))
        return tokens

    def start(self, people: Mapping[str, list[str]] | None = None) -> dict[str, str]:
        """`council db init`, then gunicorn; the principals are registered while the workers boot.
        Returns the printed tokens once /api/v1/health answers 200."""
        self.cli("db", "init")
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app",
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers)],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        tokens = self.add_principals(people or {})
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                if self.client().get("/api/v1/health", timeout=5).status == 200:
                    return tokens
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not answer /api/v1/health within {START_TIMEOUT} s:\n{self.log()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # SIGTERM: gunicorn's graceful stop
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)

    def client(self, token: str | None = None, name: str = "anonymous") -> Client:
        return Client(self.port, token, name)

    def log(self, since: int = 0) -> str:
        try:
            return self.log_path.read_bytes()[since:].decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0
