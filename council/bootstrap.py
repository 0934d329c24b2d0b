"""The composition root: everything a process needs, built once from `Settings`; the tables, created once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from council.infra import ddl
from council.infra.blobs import BlobStore
from council.infra.clock import Clock, utcnow
from council.infra.idempotency_store import IdempotencyStore
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
    blobs, env = _blobs(config), config.persistence_env(create_table=False)
    council = Council(env, blobs=blobs, clock=clock)
    return Components(settings=config, council=council, read_models=ReadModels(council, env),
                      idempotency=IdempotencyStore(council.recorder), blobs=blobs)


def init_db(config: Settings) -> Settings:
    """Create the event, idempotency and view tables (idempotent); run once, before any server worker starts."""
    ddl.create_schema(config)
    app = Council(config.persistence_env(create_table=True), blobs=_blobs(config))
    table = getattr(app.recorder, "events_table_name", "stored_events")
    app.close()
    ddl.protect_events(config, table)
    ddl.create_keys_table(config)
    create_views(config.persistence_env(create_table=True))
    return config


def create_views(env: dict[str, str]) -> None:
    """The views' registry, tracking table and the tables of the generation readers use."""
    view = open_view(env, generation=1)
    view.create_tracking_table()
    view.create_registry()
    view.generation = view.active_generation()
    view.create_view_tables()
    view.close()


def _blobs(config: Settings) -> BlobStore:
    return BlobStore(config.evidence_dir, config.evidence_max_bytes, config.evidence_types)
