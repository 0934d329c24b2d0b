"""The composition root: everything a process needs, built once from `Settings`; the tables, created once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from council.infra import ddl
from council.infra.blobs import BlobStore
from council.infra.clock import Clock, utcnow
from council.infra.idempotency_store import IdempotencyStore
from council.infra.keyring import Keyring
from council.infra.settings import Settings
from council.services import Council
from projections.read_models import ReadModels
from projections.runner import open_view


@dataclass
class Components:
    """One process's parts: the write side, the read side, the stored Idempotency-Key answers, the blobs."""

    settings: Settings
    council: Council
    read_models: ReadModels
    idempotency: IdempotencyStore
    blobs: BlobStore
    keyring: Keyring  # signs the receipts of writes, checks receipts' signatures (docs/decisions/0008)

    def close(self) -> None:
        self.read_models.close()
        self.idempotency.close()
        self.council.close()


def settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings of this process: from `env`, else from os.environ (read here and nowhere else)."""
    return Settings.from_env(os.environ if env is None else env)


def build(config: Settings, clock: Clock = utcnow) -> Components:
    """Every part, on tables that `init_db` created (it never creates tables itself); nothing is shared
    with another `build`, so two configurations live side by side in one process."""
    ddl.require_tables(config)
    blobs, env, keyring = _blobs(config), config.persistence_env(create_table=False), open_keyring(config)
    council = Council(env, blobs=blobs, clock=clock, keyring=keyring)
    return Components(settings=config, council=council, read_models=ReadModels(council, env),
                      idempotency=IdempotencyStore(council.recorder), blobs=blobs, keyring=keyring)


def init_db(config: Settings, runtime_role: str | None = None) -> Settings:
    """Create the event, idempotency and view tables (idempotent); run once, before any server worker starts, as
    the database's admin. On PostgreSQL, given `runtime_role`, also that role for the server to connect as, and
    its privileges (docs/decisions/0009-least-privilege.md); roles are cluster-wide, so only when asked."""
    ddl.create_schema(config)
    app = Council(config.persistence_env(create_table=True), blobs=_blobs(config))
    table = getattr(app.recorder, "events_table_name", "stored_events")
    app.close()
    ddl.protect_events(config, table)
    ddl.create_keys_table(config)
    create_views(config.persistence_env(create_table=True))
    if runtime_role:
        ddl.grant_runtime(config, table, runtime_role)  # after every table it grants on exists
    open_keyring(config).init(utcnow())  # the signing key, made when missing (a file, never in the database)
    return config


def create_views(env: dict[str, str]) -> None:
    """The views' registry, tracking table and the tables of the generation readers use."""
    view = open_view(env, generation=1)
    view.create_tracking_table()
    view.create_registry()
    view.generation = view.active_generation()
    view.create_view_tables()
    view.close()


def open_keyring(config: Settings) -> Keyring:
    """The signing key and every public key; no key yet is no error (receipts go unsigned until `db init`)."""
    return Keyring(config.key_file, config.signing_key_pem)


def _blobs(config: Settings) -> BlobStore:
    return BlobStore(config.evidence_dir, config.evidence_max_bytes, config.evidence_types)
