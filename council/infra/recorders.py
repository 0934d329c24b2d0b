"""The PostgreSQL recorder the Council uses: the library's, answering within the connect timeout in an outage."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg_pool import PoolTimeout


def _fail_fast(method: Callable[..., Any]) -> Callable[..., Any]:
    """The library's retry (10 attempts, 0.2 s apart), except after a PoolTimeout, which is raised at once.

    A PoolTimeout means the pool already waited POSTGRES_CONNECT_TIMEOUT for a connection: retrying it made
    an outage hold every request for 10 x (timeout + 0.2) s instead of answering 503. A broken connection
    (the server restarted) is still retried.
    """
    inner: Callable[..., Any] = method.__wrapped__  # type: ignore[attr-defined]  # the library's, without @retry

    @wraps(inner)
    def call(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, 11):
            try:
                return inner(*args, **kwargs)
            except (InterfaceError, OperationalError) as error:
                if attempt == 10 or isinstance(error.__cause__, PoolTimeout):
                    raise
                time.sleep(0.2)
        raise AssertionError("unreachable")

    return call


class FailFastRecorder(PostgresApplicationRecorder):
    """PostgreSQL application recorder that answers within the connect timeout when the database is down."""

    insert_events = _fail_fast(PostgresApplicationRecorder.insert_events)  # type: ignore[assignment]
    select_events = _fail_fast(PostgresApplicationRecorder.select_events)  # type: ignore[assignment]
    select_notifications = _fail_fast(PostgresApplicationRecorder.select_notifications)  # type: ignore[assignment]
    max_notification_id = _fail_fast(PostgresApplicationRecorder.max_notification_id)  # type: ignore[assignment]
