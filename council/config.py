"""Settings from the environment, and their translation into eventsourcing's persistence settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from council.evidence import EvidenceStore

DEFAULT_DATABASE_URL = "sqlite:///var/council.db"
DEFAULT_EVIDENCE_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_EVIDENCE_TYPES = frozenset({
    "application/pdf",
    "image/png",
    "image/jpeg",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/zip",
})


class ConfigError(Exception):
    """A setting that cannot be used; the message names it."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    evidence_dir: str = "var/evidence"
    pool_size: int = 5
    connect_timeout: int = 5
    evidence_max_bytes: int = DEFAULT_EVIDENCE_MAX_BYTES
    evidence_types: frozenset[str] = DEFAULT_EVIDENCE_TYPES

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        try:
            return cls(
                database_url=env.get("COUNCIL_DATABASE_URL") or DEFAULT_DATABASE_URL,
                evidence_dir=env.get("COUNCIL_EVIDENCE_DIR") or "var/evidence",
                pool_size=int(env.get("COUNCIL_POOL_SIZE") or 5),
                connect_timeout=int(env.get("COUNCIL_CONNECT_TIMEOUT") or 5),
                evidence_max_bytes=int(env.get("COUNCIL_EVIDENCE_MAX_BYTES") or DEFAULT_EVIDENCE_MAX_BYTES),
                evidence_types=_media_types(env.get("COUNCIL_EVIDENCE_TYPES")) or DEFAULT_EVIDENCE_TYPES,
            )
        except ValueError as error:
            raise ConfigError(
                "COUNCIL_POOL_SIZE, COUNCIL_CONNECT_TIMEOUT and COUNCIL_EVIDENCE_MAX_BYTES are whole numbers: "
                f"{error}"
            ) from None

    def evidence_store(self) -> EvidenceStore:
        return EvidenceStore(Path(self.evidence_dir), self.evidence_max_bytes, self.evidence_types)

    @property
    def backend(self) -> str:
        return urlsplit(self.database_url).scheme.split("+")[0]

    def persistence_env(self, create_table: bool = False) -> dict[str, str]:
        """eventsourcing settings; tables are created only when asked (`council db init`)."""
        common = {"CREATE_TABLE": "y" if create_table else "n", "AGGREGATE_CACHE_MAXSIZE": "5000"}
        if self.backend == "sqlite":
            return common | _sqlite_env(self.database_url)
        if self.backend in ("postgresql", "postgres"):
            return common | self._postgres_env()
        raise ConfigError(
            f"COUNCIL_DATABASE_URL must start with sqlite:/// or postgresql://, not {self.database_url!r}"
        )

    def _postgres_env(self) -> dict[str, str]:
        url = urlsplit(self.database_url)
        options = {key: values[-1] for key, values in parse_qs(url.query).items()}
        if not url.path.strip("/"):
            raise ConfigError("COUNCIL_DATABASE_URL for PostgreSQL names a database: postgresql://user@host:5432/db")
        # The library's defaults (30 s connect timeout, ten retries) turn an outage into minutes of waiting.
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(url.path.strip("/")),
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_SCHEMA": options.get("schema", ""),
            "POSTGRES_POOL_SIZE": str(self.pool_size),
            "POSTGRES_MAX_OVERFLOW": "0",
            "POSTGRES_CONNECT_TIMEOUT": str(self.connect_timeout),
            "POSTGRES_MAX_WAITING": "0",
            "POSTGRES_PRE_PING": "y",
            "POSTGRES_LOCK_TIMEOUT": "5",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": "council.recorders:FailFastRecorder",
        }


def _media_types(value: str | None) -> frozenset[str]:
    """COUNCIL_EVIDENCE_TYPES: media types separated by commas, compared in lower case."""
    return frozenset(part.strip().lower() for part in (value or "").split(",") if part.strip())


def _sqlite_env(url: str) -> dict[str, str]:
    """sqlite:///relative/path, sqlite:////absolute/path, or sqlite:///file:NAME?mode=memory&cache=shared."""
    target = url.split("sqlite:///", 1)[1] if url.startswith("sqlite:///") else ""
    if not target:
        raise ConfigError(f"COUNCIL_DATABASE_URL for SQLite is sqlite:///path/to/file.db, not {url!r}")
    if not target.startswith("file:"):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": target, "SQLITE_LOCK_TIMEOUT": "10"}
