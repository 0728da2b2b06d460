"""Index templates: the shipped mappings, idempotent install, conflicts, the console script."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest
from spark_job_helpers import console_script

from sentiment_job.es_setup import (
    EARLIER_REFRESH_INTERVALS,
    SetupError,
    install,
    load_template,
    refresh_interval_update,
    templates_for,
)
from sentiment_job.settings import Settings
from sentiment_job.sink import DEADLETTER_FIELDS, DOCUMENT_FIELDS


def _types(properties: dict[str, Any]) -> dict[str, str]:
    return {name: spec["type"] for name, spec in properties.items()}


def test_document_template_maps_every_field_with_core_types() -> None:
    mappings = load_template("documents")["template"]["mappings"]
    assert mappings["dynamic"] == "strict"
    props = mappings["properties"]
    assert set(props) == set(DOCUMENT_FIELDS)
    assert _types(props) == {
        "id": "keyword",
        "source": "keyword",
        "text": "text",
        "clean_text": "text",
        "lang": "keyword",
        "author_id": "keyword",
        "created_at": "date",
        "ingested_at": "date",
        "indexed_at": "date",
        "polarity": "float",
        "subjectivity": "float",
        "confidence": "float",
        "sentiment": "keyword",
        "model": "keyword",
        "sentiment_lang": "keyword",
    }
    for name in ("text", "clean_text"):
        assert props[name]["fields"]["keyword"]["type"] == "keyword"
        assert props[name]["fields"]["keyword"]["ignore_above"] > 0
        # The test node has no analysis-common module: only the default analyzer exists.
        assert "analyzer" not in props[name]


def test_deadletter_template_maps_every_field() -> None:
    props = load_template("deadletter")["template"]["mappings"]["properties"]
    assert set(props) == set(DEADLETTER_FIELDS)
    assert _types(props)["kafka_timestamp"] == "date"
    assert _types(props)["failed_at"] == "date"
    assert _types(props)["offset"] == "long"
    assert _types(props)["key"] == "keyword"  # what a deletion finds a post's dead letters by


def test_templates_match_exactly_the_configured_indices() -> None:
    s = Settings(checkpoint_location="x", es_index="a", es_deadletter_index="a-dead")
    assert {name: (index, body["index_patterns"]) for name, (index, body) in templates_for(s).items()} == {
        "a-template": ("a", ["a"]),
        "a-dead-template": ("a-dead", ["a-dead"]),
    }


@pytest.mark.es
def test_install_is_idempotent_and_creates_both_indices(es_client: Any, es_url: str, indices: Any) -> None:
    index = indices()
    s = Settings(checkpoint_location="x", es_url=es_url, es_index=index, es_deadletter_index=f"{index}-dl")
    assert install(es_client, s) == [index, f"{index}-dl"]
    assert install(es_client, s) == [index, f"{index}-dl"]
    mapping = es_client.indices.get_mapping(index=index)[index]["mappings"]
    assert mapping["properties"]["polarity"]["type"] == "float"
    assert mapping["properties"]["created_at"]["type"] == "date"
    dl_mapping = es_client.indices.get_mapping(index=f"{index}-dl")[f"{index}-dl"]["mappings"]
    assert dl_mapping["properties"]["raw"]["type"] == "text"


def test_refresh_intervals_shipped() -> None:
    # Measured in docs/benchmarks.md (section 6): half the wait to searchable of 1s at no
    # measurable indexing cost; dead letters need no freshness.
    assert load_template("documents")["template"]["settings"]["index"]["refresh_interval"] == "500ms"
    assert load_template("deadletter")["template"]["settings"]["index"]["refresh_interval"] == "1s"
    assert "500ms" not in EARLIER_REFRESH_INTERVALS


@pytest.mark.parametrize(
    ("current", "template", "expected"),
    [
        ("1s", "500ms", "500ms"),  # an index made by an earlier template: upgraded
        (None, "500ms", "500ms"),  # no setting of its own: given the template's
        ("500ms", "500ms", None),  # already there
        ("-1", "500ms", None),  # an operator's backfill setting: kept
        ("30s", "500ms", None),  # an operator's choice: kept
        ("1s", "1s", None),
        ("1s", None, None),  # a template without the setting changes nothing
    ],
)
def test_refresh_interval_update(current: str | None, template: str | None, expected: str | None) -> None:
    assert refresh_interval_update(current, template) == expected


def _refresh_interval(es_client: Any, index: str) -> str | None:
    got = es_client.indices.get_settings(index=index, name="index.refresh_interval", flat_settings=True)
    value: str | None = got[index]["settings"].get("index.refresh_interval")
    return value


@pytest.mark.es
def test_install_sets_the_template_refresh_interval_on_old_indices_only(
    es_client: Any, es_url: str, indices: Any
) -> None:
    index = indices()
    s = Settings(checkpoint_location="x", es_url=es_url, es_index=index, es_deadletter_index=f"{index}-dl")
    install(es_client, s)
    assert _refresh_interval(es_client, index) == "500ms"
    assert _refresh_interval(es_client, f"{index}-dl") == "1s"
    # An index an earlier version created (refresh 1s) gets the new value at the next start.
    es_client.indices.put_settings(index=index, settings={"index": {"refresh_interval": "1s"}})
    install(es_client, s)
    assert _refresh_interval(es_client, index) == "500ms"
    # An operator's value (a backfill's -1) survives the job's restarts.
    es_client.indices.put_settings(index=index, settings={"index": {"refresh_interval": "-1"}})
    install(es_client, s)
    assert _refresh_interval(es_client, index) == "-1"


@pytest.mark.es
def test_existing_index_with_a_conflicting_mapping_is_a_clear_error(
    es_client: Any, es_url: str, indices: Any
) -> None:
    index = indices()
    es_client.indices.create(index=index, mappings={"properties": {"polarity": {"type": "keyword"}}})
    s = Settings(checkpoint_location="x", es_url=es_url, es_index=index, es_deadletter_index=f"{index}-dl")
    with pytest.raises(SetupError, match=index):
        install(es_client, s)


@pytest.mark.es
def test_console_script(es_url: str, es_client: Any, indices: Any) -> None:
    index = indices()
    env = {**os.environ, "ES_URL": es_url, "ES_INDEX": index, "ES_DEADLETTER_INDEX": f"{index}-dl"}
    env.pop("CHECKPOINT_LOCATION", None)  # setup-es does not need it
    result = subprocess.run(
        [console_script("tweet-sentiment-setup-es")], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert es_client.indices.exists(index=index)
    assert es_client.indices.exists_index_template(name=f"{index}-template")

    bad = subprocess.run(
        [console_script("tweet-sentiment-setup-es")],
        env={**env, "ES_INDEX": "UPPER"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert "ES_INDEX" in bad.stderr
