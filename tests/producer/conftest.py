"""Producer fixtures; the helpers they use live in producer_helpers.py."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.producer.producer_helpers import SCHEMA_DIR, ProducerProcess, validator


@pytest.fixture(scope="session")
def event_schema() -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / "event-v1.schema.json").read_text())


@pytest.fixture(scope="session")
def deadletter_schema() -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / "deadletter-v1.schema.json").read_text())


@pytest.fixture(scope="session")
def deletion_validator():  # type: ignore[no-untyped-def]
    return validator(json.loads((SCHEMA_DIR / "deletion-v1.schema.json").read_text()))


@pytest.fixture(scope="session")
def event_validator(event_schema):  # type: ignore[no-untyped-def]
    return validator(event_schema)


@pytest.fixture(scope="session")
def deadletter_validator(deadletter_schema):  # type: ignore[no-untyped-def]
    return validator(deadletter_schema)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No producer setting leaks in from the environment running the tests."""
    from tweet_producer.settings import Settings

    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


@pytest.fixture
def run_producer(tmp_path: Path) -> Iterator[Callable[..., ProducerProcess]]:
    """Starts `tweet-producer` subprocesses (logs in tmp_path); stops any still running at the end."""
    started: list[ProducerProcess] = []

    def start(**settings: str) -> ProducerProcess:
        process = ProducerProcess.launch(tmp_path / f"producer-{len(started) + 1}.log", **settings)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
