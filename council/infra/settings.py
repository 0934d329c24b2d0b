"""Settings from the environment, parsed once per process, and their translation into eventsourcing's settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

DEFAULT_EVIDENCE_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_EVIDENCE_TYPES = frozenset({
    "application/pdf",
    "image/png",
    "image/jpeg",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/zip",
})
KEY_FILE = "signing-key.pem"
WHOLE_NUMBERS = ("COUNCIL_POOL_SIZE", "COUNCIL_CONNECT_TIMEOUT", "COUNCIL_EVIDENCE_MAX_BYTES")


class ConfigError(Exception):
    """A setting that cannot be used; the message names it."""


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str, name: str) -> int:
    """Seconds from `90`, `90s`, `15m`, `6h` or `7d`."""
    text = text.strip().lower()
    try:
        if text and text[-1] in DURATION_UNITS:
            value = int(text[:-1]) * DURATION_UNITS[text[-1]]
        else:
            value = int(text)
    except ValueError:
        raise ConfigError(f"{name}: {text!r} is not a duration (90, 90s, 15m, 6h, 7d)") from None
    if value <= 0:
        raise ConfigError(f"{name}: {text!r} is not a positive duration")
    return value


def _duration_of(env: Mapping[str, str], name: str, default: str) -> int:
    return duration(env.get(name) or default, name)


@dataclass(frozen=True)
class SchedulerSettings:
    """`council scheduler` (docs/decisions/0012): reminder offsets before each close, the optional webhook, how
    often it signs a checkpoint and looks at the log for new rounds, extensions and phase moves."""

    reminder_offsets: tuple[int, ...] = (7 * 86400, 3 * 86400, 86400)  # seconds before a close, largest first
    webhook_url: str | None = None
    webhook_timeout: int = 10
    checkpoint_interval: int = 3600
    poll: int = 30

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SchedulerSettings:
        offsets = env.get("COUNCIL_REMINDER_OFFSETS")
        parsed = cls.reminder_offsets if offsets is None else tuple(sorted(
            {duration(part, "COUNCIL_REMINDER_OFFSETS") for part in offsets.split(",") if part.strip()},
            reverse=True))
        return cls(
            reminder_offsets=parsed,
            webhook_url=env.get("COUNCIL_REMINDER_WEBHOOK") or None,
            webhook_timeout=_duration_of(env, "COUNCIL_REMINDER_WEBHOOK_TIMEOUT", "10"),
            checkpoint_interval=_duration_of(env, "COUNCIL_CHECKPOINT_INTERVAL", "1h"),
            poll=_duration_of(env, "COUNCIL_SCHEDULER_POLL", "30"),
        )


@dataclass(frozen=True)
class Settings:
    """Every path is absolute: the same settings mean the same files whatever folder a command runs from."""

    data_dir: Path
    database_url: str
    evidence_dir: Path
    pool_size: int = 5
    connect_timeout: int = 5
    evidence_max_bytes: int = DEFAULT_EVIDENCE_MAX_BYTES
    evidence_types: frozenset[str] = DEFAULT_EVIDENCE_TYPES
    # The Ed25519 signing key (council/infra/keyring.py): a PEM file, public keys in public-keys.json beside it;
    # COUNCIL_SIGNING_KEY, when set, is the PEM itself (never shown: repr=False).
    signing_key_file: Path | None = None
    signing_key_pem: str | None = field(default=None, repr=False)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        data_dir = data_folder(env)
        try:
            numbers = [int(env.get(name) or default) for name, default in
                       zip(WHOLE_NUMBERS, (5, 5, DEFAULT_EVIDENCE_MAX_BYTES), strict=True)]
        except ValueError as error:
            raise ConfigError(f"{', '.join(WHOLE_NUMBERS)} are whole numbers: {error}") from None
        if numbers[0] < 2:
            # The views' writer holds one pooled connection (its lease) and writes through another.
            raise ConfigError(f"COUNCIL_POOL_SIZE is at least 2, not {numbers[0]}")
        return cls(
            data_dir=data_dir,
            database_url=_absolute_sqlite(env.get("COUNCIL_DATABASE_URL") or f"sqlite:///{data_dir / 'council.db'}"),
            evidence_dir=_absolute(env.get("COUNCIL_EVIDENCE_DIR") or str(data_dir / "evidence")),
            pool_size=numbers[0], connect_timeout=numbers[1], evidence_max_bytes=numbers[2],
            evidence_types=_media_types(env.get("COUNCIL_EVIDENCE_TYPES")) or DEFAULT_EVIDENCE_TYPES,
            signing_key_file=_absolute(env.get("COUNCIL_SIGNING_KEY_FILE") or str(data_dir / "keys" / KEY_FILE)),
            signing_key_pem=env.get("COUNCIL_SIGNING_KEY") or None,
            scheduler=SchedulerSettings.from_env(env),
        )

    @property
    def key_file(self) -> Path:
        """Where the signing key lives (its public keys beside it), under the data folder unless set apart."""
        return self.signing_key_file or self.data_dir / "keys" / KEY_FILE

    @property
    def backend(self) -> str:
        return urlsplit(self.database_url).scheme.split("+")[0]

    @property
    def shown_url(self) -> str:
        """The database URL as printed and logged: the password never appears."""
        url = urlsplit(self.database_url)
        if url.password is None:
            return self.database_url
        netloc = url.netloc.replace(f":{url.password}@", ":***@", 1)
        return urlunsplit(url._replace(netloc=netloc))

    def persistence_env(self, create_table: bool = False) -> dict[str, str]:
        """eventsourcing settings; tables are created only when asked (`council db init`)."""
        common = {"CREATE_TABLE": "y" if create_table else "n", "AGGREGATE_CACHE_MAXSIZE": "5000"}
        if self.backend == "sqlite":
            return common | _sqlite_env(self.database_url)
        if self.backend in ("postgresql", "postgres"):
            return common | self._postgres_env()
        raise ConfigError(
            f"COUNCIL_DATABASE_URL must start with sqlite:/// or postgresql://, not {self.shown_url!r}"
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
            "APPLICATION_RECORDER_TOPIC": "council.infra.recorders:FailFastRecorder",
        }


def data_folder(env: Mapping[str, str]) -> Path:
    """COUNCIL_DATA_DIR, else the user's data folder (XDG): never the folder a command happens to run in."""
    if env.get("COUNCIL_DATA_DIR"):
        return _absolute(env["COUNCIL_DATA_DIR"])
    base = env.get("XDG_DATA_HOME") or os.path.join(env.get("HOME") or str(Path.home()), ".local", "share")
    return _absolute(base) / "par-council"


def _absolute(path: str) -> Path:
    return Path(path).expanduser().absolute()


def _absolute_sqlite(url: str) -> str:
    """sqlite:///relative/path becomes sqlite:////absolute/path once, here; other URLs are kept."""
    if not url.startswith("sqlite:///") or url.startswith("sqlite:////"):
        return url
    target = url.removeprefix("sqlite:///")
    if not target or target.startswith("file:"):
        return url
    return f"sqlite:///{_absolute(target)}"


def _media_types(value: str | None) -> frozenset[str]:
    """COUNCIL_EVIDENCE_TYPES: media types separated by commas, compared in lower case."""
    return frozenset(part.strip().lower() for part in (value or "").split(",") if part.strip())


def _sqlite_env(url: str) -> dict[str, str]:
    """sqlite:////absolute/path, or sqlite:///file:NAME?mode=memory&cache=shared."""
    target = url.split("sqlite:///", 1)[1] if url.startswith("sqlite:///") else ""
    if not target:
        raise ConfigError(f"COUNCIL_DATABASE_URL for SQLite is sqlite:///path/to/file.db, not {url!r}")
    if not target.startswith("file:"):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": target, "SQLITE_LOCK_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": "council.infra.recorders:GuardedSQLiteRecorder"}
