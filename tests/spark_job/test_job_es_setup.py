"""Index templates: the shipped mappings, idempotent install, conflicts, the console script."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest
from spark_job_helpers import console_script

from sentiment_job.es_setup import SetupError, install, load_template, templates_for
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
        "created_at": "date",
        "ingested_at": "date",
        "indexed_at": "date",
        "polarity": "float",
        "subjectivity": "float",
        "confidence": "float",
        "sentiment": "keyword",
        "model": "keyword",
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
