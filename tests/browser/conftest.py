"""Browser fixtures: one prepared round and one real server (`council serve`) per session, one headless Debian
Chromium per session, a fresh browser profile per test. Without Chromium the tests fail, never skip."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import harness


@pytest.fixture(scope="session")
def chromium_path() -> str:
    reason = harness.missing_chromium()
    if reason:
        pytest.fail(reason, pytrace=False)
    return harness.CHROMIUM


@pytest.fixture(scope="session")
def prepared(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> harness.PreparedRound:
    """The round of harness.prepare_round in a data folder of this run (checked for Chromium first)."""
    return harness.prepare_round(tmp_path_factory.mktemp("council-data"))


@pytest.fixture(scope="session")
def server(prepared: harness.PreparedRound) -> Iterator[harness.Server]:
    running = harness.Server(prepared.data_dir)
    try:
        running.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def chromium(chromium_path: str) -> Iterator[Any]:
    with harness.browser() as launched:
        yield launched


@pytest.fixture
def context(chromium: Any, server: harness.Server) -> Iterator[Any]:
    made = harness.new_context(chromium, server)
    made.set_default_timeout(10_000)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()
