"""Least privilege on PostgreSQL (docs/decisions/0009): `db init` makes a runtime role; the whole Council works
connected as a LOGIN member of it, and that role cannot change, switch off or drop what makes the log append-only."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from api import create_app
from council import bootstrap
from council.infra import ddl
from council.infra.settings import ConfigError, Settings
from council.services.principal_service import Scope
from domain.values import Actor, Role, ScoreAddress
from tests.builders import KEY, officer, open_round

pytestmark = pytest.mark.postgres
ADMIN = Actor(id="cli:test", role=Role.ADMIN)


@dataclass
class Deployment:
    """One schema set up by the admin, and the URL the server would be given: a LOGIN role in the runtime role."""

    admin: Settings
    runtime: Settings
    runtime_env: dict[str, str]
    role: str
    login: str
    schema: str
    database_url: str

    def connect_as_runtime(self) -> psycopg.Connection:
        env = self.runtime.persistence_env()
        return psycopg.connect(**ddl.pg_connect_kwargs(env))

    def admin_connection(self) -> psycopg.Connection:
        return psycopg.connect(self.database_url, autocommit=True)


@pytest.fixture
def deployment(postgres_database: str, tmp_path) -> Iterator[Deployment]:
    tag = uuid.uuid4().hex[:10]
    role, login, schema = f"council_rt_{tag}", f"council_rt_{tag}_app", f"rt_{tag}"
    password = secrets.token_hex(16)  # trust auth ignores it; a server asking for passwords gets it
    url = urlsplit(postgres_database)
    common = {"COUNCIL_DATA_DIR": str(tmp_path / "data"), "COUNCIL_EVIDENCE_DIR": str(tmp_path / "evidence"),
              "COUNCIL_POOL_SIZE": "2"}
    admin = bootstrap.settings(common | {"COUNCIL_DATABASE_URL": f"{postgres_database}?schema={schema}"})
    runtime_env = common | {"COUNCIL_DATABASE_URL": f"postgresql://{login}:{password}@{url.hostname}:{url.port or 5432}"
                                                    f"{url.path}?schema={schema}"}
    here = Deployment(admin, bootstrap.settings(runtime_env), runtime_env, role, login, schema, postgres_database)
    try:
        bootstrap.init_db(admin, runtime_role=role)
        with here.admin_connection() as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(login), sql.Literal(password), sql.Identifier(role)))
        yield here
    finally:
        with here.admin_connection() as conn:
            for name in (login, role):
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone():
                    conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
                    conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_the_council_writes_reads_and_answers_idempotent_retries_as_the_runtime_role(deployment, clock):
    parts = bootstrap.build(deployment.runtime, clock=clock)
    try:
        council = parts.council
        key = open_round(council)
        receipt = council.self_score(ScoreAddress(key, "01", "1.1.1"), "0.50", officer("01"))
        assert receipt.version == 2 and receipt.notification_id > 0
        results = parts.read_models.results(key)  # the views caught up (tracking, upserts) by the runtime role
        assert results["round"] == key and {result.unit.code for result in results["units"]} >= {"01", "79"}
    finally:
        parts.close()
    app = create_app({"TESTING": True, "COUNCIL_ENV": deployment.runtime_env, "COUNCIL_CLOCK": clock})
    try:
        council = app.extensions["par-council"].get().council
        token = council.add_principal("officer@01", "unit", ADMIN, Scope(unit="01"))[1]
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k-runtime"}
        path = f"/api/v1/rounds/{KEY}/units/01/scores/2.1.1/self-assessment"
        first = client.put(path, json={"points": "0.50"}, headers=headers)
        again = client.put(path, json={"points": "0.50"}, headers=headers)
        assert first.status_code in (200, 201), first.json
        assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
        audit = client.get(f"/api/v1/audit?round={KEY}&unit=01", headers={"Authorization": f"Bearer {token}"})
        assert audit.status_code == 200 and len(audit.json["items"]) >= 2, audit.json
    finally:
        app.extensions["par-council"].close()
    with deployment.connect_as_runtime() as conn:
        assert conn.execute("SELECT current_user").fetchone() == (deployment.login,)


def _refusals(schema: str) -> list[tuple[str, str]]:
    """Each statement the runtime role must not get through, and the words of the refusal."""
    events, seq = f"{schema}.council_events", f"{schema}.council_events_notification_id_seq"
    denied, owner, append_only = "permission denied", "must be owner", "append-only"
    return [
        (f"UPDATE {events} SET topic = 'forged'", denied),
        (f"DELETE FROM {events}", append_only),  # DELETE is granted for LOCK TABLE only: the trigger refuses it
        (f"DELETE FROM {events} WHERE notification_id = (SELECT max(notification_id) FROM {events})", append_only),
        (f"MERGE INTO {events} e USING (SELECT 1) s ON true WHEN MATCHED THEN DELETE", append_only),
        (f"INSERT INTO {events} SELECT originator_id, originator_version, topic, state FROM {events} "
         "ON CONFLICT (originator_id, originator_version) DO UPDATE SET topic = 'forged'", denied),
        (f"TRUNCATE {events}", denied),
        (f"ALTER TABLE {events} DISABLE TRIGGER events_append_only", owner),
        (f"ALTER TABLE {events} DISABLE TRIGGER ALL", owner),
        (f"DROP TRIGGER events_append_only ON {events}", owner),
        (f"DROP TABLE {events}", owner),
        (f"ALTER TABLE {events} OWNER TO CURRENT_USER", owner),
        (f"ALTER TABLE {events} RENAME TO council_events_old", owner),
        (f"CREATE TRIGGER sneak BEFORE INSERT ON {events} FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_event_change()",
         denied),
        (f"CREATE OR REPLACE FUNCTION {schema}.refuse_event_change() RETURNS trigger LANGUAGE plpgsql "
         "AS $$ BEGIN RETURN NULL; END $$", denied),  # no CREATE on the schema (and not the owner)
        (f"CREATE TABLE {schema}.council_events_copy (x int)", denied),
        ("SET session_replication_role = replica", "permission denied"),
        (f"SELECT setval('{seq}', 1)", denied),
        (f"UPDATE {schema}.council_views SET generation = 7", denied),
        (f"DROP TABLE {schema}.council_scores_v3_g1", owner),
        (f"TRUNCATE {schema}.council_request_keys", denied),
        (f"UPDATE {schema}.council_request_keys SET outcome = 'forged'", denied),
    ]


def test_the_runtime_role_cannot_change_switch_off_or_drop_the_append_only_log(deployment, clock):
    parts = bootstrap.build(deployment.runtime, clock=clock)
    open_round(parts.council)
    parts.close()
    with deployment.connect_as_runtime() as conn:
        conn.autocommit = True
        before = conn.execute(f"SELECT count(*), sum(length(state)) FROM {deployment.schema}.council_events").fetchone()
        assert before is not None and before[0] > 0
        let_through = []
        for statement, words in _refusals(deployment.schema):
            try:
                conn.execute(statement)  # type: ignore[call-overload]  # the test's own statements
            except psycopg.errors.InsufficientPrivilege as refusal:
                assert words in str(refusal), (statement, str(refusal))
            else:
                let_through.append(statement)
        assert let_through == []
        after = conn.execute(f"SELECT count(*), sum(length(state)) FROM {deployment.schema}.council_events").fetchone()
        assert after == before
    with deployment.admin_connection() as conn:
        enabled = conn.execute("SELECT tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                               "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
                               "AND c.relname = 'council_events' AND tgname = 'events_append_only'",
                               [deployment.schema]).fetchone()
        assert enabled == ("O",)


def test_tables_of_a_rebuild_by_the_admin_are_written_and_read_by_the_runtime_role(deployment, clock):
    admin = bootstrap.build(deployment.admin, clock=clock)
    try:
        key = open_round(admin.council)
        assert admin.read_models.rebuild() == 2  # admin-only: creates generation 2's tables, drops generation 1's
    finally:
        admin.close()
    parts = bootstrap.build(deployment.runtime, clock=clock)
    try:
        parts.council.self_score(ScoreAddress(key, "01", "1.1.1"), "0.50", officer("01"))
        scores = parts.read_models.results(key)["units"]
        assert scores and parts.read_models.view().generation == 2
        with pytest.raises(Exception, match="permission denied"):
            parts.read_models.rebuild()  # the runtime role creates no tables
    finally:
        parts.close()


def test_db_init_runs_again_and_refuses_a_runtime_role_that_could_switch_the_trigger_off(deployment):
    bootstrap.init_db(deployment.admin, runtime_role=deployment.role)  # idempotent, the grants made afresh
    with deployment.admin_connection() as conn:
        admin_name = conn.execute("SELECT current_user").fetchone()[0]  # type: ignore[index]
        grants = conn.execute("SELECT privilege_type FROM information_schema.role_table_grants WHERE grantee = %s "
                              "AND table_schema = %s AND table_name = 'council_events' ORDER BY 1",
                              [deployment.role, deployment.schema]).fetchall()
    assert [row[0] for row in grants] == ["DELETE", "INSERT", "SELECT"]
    with pytest.raises(ConfigError, match="superuser or may act as the owner"):
        bootstrap.init_db(deployment.admin, runtime_role=admin_name)
    with pytest.raises(ConfigError, match="lower-case PostgreSQL name"):
        bootstrap.init_db(deployment.admin, runtime_role='x"; DROP TABLE council_events; --')
