"""A throwaway PostgreSQL cluster for tests that stop and start the server: never the machine's shared one.

The cluster lives in a temporary directory owned by an unprivileged OS user (initdb and postgres refuse
to run as root), listens on a free TCP port of 127.0.0.1 with trust auth, and keeps its unix socket inside
that directory.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

INSTALL_HINT = (
    "install the PostgreSQL server binaries (on Debian: apt-get install postgresql, which provides "
    "/usr/lib/postgresql/<version>/bin/initdb and pg_ctl), or put their directory on PATH with pg_config"
)


class ClusterError(RuntimeError):
    """The throwaway cluster could not be created, started or stopped; the message says why."""


def find_bindir() -> Path:
    """PostgreSQL's server binaries: `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: _version_key(Path(p).parent.name))
    candidates.extend(Path(p) for p in reversed(versions))
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise ClusterError(f"no PostgreSQL server binaries (initdb, pg_ctl, postgres) found: {INSTALL_HINT}")


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayCluster:
    """initdb + pg_ctl on a temporary data directory; `with ThrowawayCluster() as cluster:` cleans up."""

    def __init__(self, user: str = "postgres", port: int | None = None) -> None:
        self.bindir = find_bindir()
        self.user = user
        self.port = port or free_port()
        self.root: Path | None = None
        self._as_user: list[str] = []

    @property
    def datadir(self) -> Path:
        assert self.root is not None, "call init() first"
        return self.root / "data"

    @property
    def socketdir(self) -> Path:
        assert self.root is not None, "call init() first"
        return self.root / "socket"

    @property
    def logfile(self) -> Path:
        assert self.root is not None, "call init() first"
        return self.root / "postgres.log"

    def init(self) -> ThrowawayCluster:
        """Create the data directory (initdb, trust auth), owned by the unprivileged user."""
        if self.root is not None:
            return self
        self._as_user = self._demote_command()
        self.root = Path(tempfile.mkdtemp(prefix="par-council-pg-"))
        self.socketdir.mkdir()
        if os.geteuid() == 0:
            entry = pwd.getpwnam(self.user)
            for path in (self.root, self.socketdir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
            "--no-locale", "--no-sync",
        )
        return self

    def start(self, timeout: int = 30) -> None:
        """Start the server and wait until it accepts connections."""
        self.init()
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socketdir} -c fsync=off"
        self._run("pg_ctl", "start", "-D", str(self.datadir), "-l", str(self.logfile), "-w", "-t", str(timeout),
                  "-o", options)

    def stop(self, timeout: int = 30) -> None:
        """Stop the server at once (fast shutdown: sessions are disconnected)."""
        if self.root is None or not self.running():
            return
        self._run("pg_ctl", "stop", "-D", str(self.datadir), "-m", "fast", "-w", "-t", str(timeout))

    def running(self) -> bool:
        if self.root is None or not self.datadir.exists():
            return False
        result = subprocess.run(
            [*self._as_user, str(self.bindir / "pg_ctl"), "status", "-D", str(self.datadir)],
            capture_output=True, text=True, timeout=30, check=False,
        )
        return result.returncode == 0

    def council_env(self, evidence_dir: str) -> dict[str, str]:
        """A fresh database `council` on this cluster and the settings that point the Council at it (short
        timeouts: an outage must answer, not hang)."""
        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=5) as admin:
            admin.execute("CREATE DATABASE council")
        return {"COUNCIL_DATA_DIR": os.path.dirname(evidence_dir), "COUNCIL_DATABASE_URL": self.url("council"),
                "COUNCIL_EVIDENCE_DIR": evidence_dir,
                "COUNCIL_CONNECT_TIMEOUT": "2", "COUNCIL_POOL_SIZE": "2"}

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def cleanup(self) -> None:
        """Stop the server if it runs (immediate shutdown as a last resort) and remove the directory."""
        if self.root is None:
            return
        try:
            self.stop()
        except ClusterError:
            subprocess.run(
                [*self._as_user, str(self.bindir / "pg_ctl"), "stop", "-D", str(self.datadir), "-m", "immediate"],
                capture_output=True, timeout=30, check=False,
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> ThrowawayCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def _demote_command(self) -> list[str]:
        """Run as `self.user` when we are root: runuser, else setpriv; as ourselves otherwise."""
        if os.geteuid() != 0:
            return []
        try:
            pwd.getpwnam(self.user)
        except KeyError:
            raise ClusterError(
                f"the tests run as root and initdb refuses root, but there is no OS user {self.user!r} to run "
                f"PostgreSQL as: {INSTALL_HINT} (the package creates the user), or run the tests unprivileged"
            ) from None
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", self.user, "--"]
        setpriv = shutil.which("setpriv")
        if setpriv:
            return [setpriv, f"--reuid={self.user}", f"--regid={self.user}", "--init-groups", "--reset-env", "--"]
        raise ClusterError("running as root needs runuser or setpriv (util-linux) to start PostgreSQL unprivileged")

    def _run(self, program: str, *args: str) -> None:
        command = [*self._as_user, str(self.bindir / program), *args]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                                    cwd=self.root or "/")
        except subprocess.TimeoutExpired as error:
            raise ClusterError(f"{program} did not finish: {' '.join(command)}") from error
        if result.returncode != 0:
            log = ""
            if self.root is not None and self.logfile.exists():
                log = self.logfile.read_text(errors="replace")[-2000:]
            raise ClusterError(
                f"{program} failed ({result.returncode}): {' '.join(command)}\n{result.stdout}\n{result.stderr}\n{log}"
            )
