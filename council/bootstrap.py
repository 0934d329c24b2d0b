"""The composition root: build the Council application from the environment; create its tables once."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime

from council import schema
from council.app import Council
from council.application import utcnow
from council.config import Settings
from projections.runner import open_view


def settings(env: Mapping[str, str] | None = None) -> Settings:
    return Settings.from_env(os.environ if env is None else env)


def build(env: Mapping[str, str] | None = None, clock: Callable[[], datetime] = utcnow) -> Council:
    """The application, on tables that `init_db` created (it never creates tables itself)."""
    config = settings(env)
    return Council(env=config.persistence_env(create_table=False), clock=clock, blobs=config.evidence_store())


def init_db(env: Mapping[str, str] | None = None) -> str:
    """Create the event tables (idempotent); run once, before any server worker starts."""
    config = settings(env)
    schema.create_schema(config)
    app = Council(env=config.persistence_env(create_table=True))
    table = getattr(app.recorder, "events_table_name", "stored_events")
    app.close()
    schema.protect_events(config, table)
    schema.create_idempotency_table(config)
    create_views(config.persistence_env(create_table=True))
    return config.database_url


def create_views(env: dict[str, str]) -> None:
    """The views' registry, tracking table and the tables of the generation readers use."""
    view = open_view(env, generation=1)
    view.create_tracking_table()
    view.create_registry()
    view.generation = view.active_generation()
    view.create_view_tables()
    view.close()
