"""The one contract (tweet_sentiment_common.contract) and everything derived from it.

This is THE test that holds the copies together: the JSON Schema files the producer ships
are what the generator writes from the models; the index templates map exactly the
document and dead-letter fields of the models, with compatible types; the job's Spark
schema, column lists and reasons, and the producer's reasons, come from the contract; every
reason and skip reason is documented. A change to an event field is an edit of the model,
then `make schemas`; anything left behind fails here.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path

import jsonschema
import pytest

from tweet_sentiment_common import contract
from tweet_sentiment_common.generate import main as generate

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = REPO_ROOT / "images" / "producer" / "src" / "tweet_producer" / "schemas"
RESOURCES = REPO_ROOT / "images" / "spark-job" / "src" / "sentiment_job" / "resources"
EVENT_DOC = (REPO_ROOT / "docs" / "event-schema.md").read_text()


def test_committed_json_schemas_are_what_the_generator_writes(tmp_path: Path) -> None:
    assert generate([str(SCHEMA_DIR), "--check"]) == 0, "run `make schemas`"
    assert generate([str(tmp_path)]) == 0
    for name in contract.json_schemas():
        assert (tmp_path / name).read_text() == (SCHEMA_DIR / name).read_text()
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.json")) == sorted(contract.json_schemas())


def test_a_changed_model_makes_the_check_fail(tmp_path: Path) -> None:
    generate([str(tmp_path)])
    stale = tmp_path / "event-v1.schema.json"
    stale.write_text(stale.read_text().replace('"lang"', '"language"'))
    assert generate([str(tmp_path), "--check"]) == 1


def test_generated_schemas_are_valid_and_agree_with_the_models() -> None:
    schemas = contract.json_schemas()
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    event = {
        "schema_version": 1,
        "id": "1",
        "source": "x",
        "text": "hi",
        "lang": "en",
        "created_at": "2026-01-01T00:00:00.000Z",
        "ingested_at": "2026-01-01T00:00:00.000Z",
    }
    jsonschema.validate(event, schemas["event-v1.schema.json"])
    contract.Event.model_validate(event)
    assert schemas["event-v1.schema.json"]["required"] == [
        name for name, info in contract.Event.model_fields.items() if info.is_required()
    ]
    assert schemas["deadletter-v1.schema.json"]["properties"]["reason"]["enum"] == list(
        contract.PRODUCER_REASONS
    )


# Python type of a model field -> Elasticsearch types that may map it.
ES_TYPES = {str: {"keyword", "text", "date"}, float: {"float", "double"}, int: {"integer", "long"}}


def _python_type(model: type, field: str) -> type:
    annotation = model.model_fields[field].annotation  # type: ignore[attr-defined]
    if typing.get_origin(annotation) is typing.Literal:
        return str
    kinds = [a for a in (*typing.get_args(annotation), annotation) if a in ES_TYPES]
    assert kinds, f"{model.__name__}.{field}: no Elasticsearch type for {annotation}"
    return kinds[0]


@pytest.mark.parametrize(
    ("resource", "model"),
    [("index-template.json", contract.Document), ("deadletter-template.json", contract.JobDeadLetter)],
)
def test_index_templates_map_exactly_the_model_fields(resource: str, model: type) -> None:
    props = json.loads((RESOURCES / resource).read_text())["template"]["mappings"]["properties"]
    assert list(props) == list(model.model_fields)  # type: ignore[attr-defined]
    for field, spec in props.items():
        assert spec["type"] in ES_TYPES[_python_type(model, field)], (field, spec["type"])
    if model is contract.Document:
        # The id is at most the whole _id budget.
        assert props["id"]["ignore_above"] == contract.MAX_ID_BYTES


def test_job_schema_columns_and_reasons_come_from_the_contract() -> None:
    from sentiment_job import sink, transform

    assert transform.REASONS == contract.JOB_REASONS
    assert transform.SOURCES == contract.SOURCES
    assert ("schema_version", *contract.EVENT_FIELDS_INDEXED) == transform.EVENT_READ_FIELDS
    assert set(transform.EVENT_READ_FIELDS) <= set(contract.EVENT_FIELDS)
    assert sink.DOCUMENT_FIELDS == contract.DOCUMENT_FIELDS
    assert sink.DEADLETTER_FIELDS == contract.JOB_DEADLETTER_FIELDS
    assert set(transform.DOC_COLUMNS) | {"indexed_at"} == set(contract.DOCUMENT_FIELDS)
    assert set(transform.DEADLETTER_COLUMNS) | {"failed_at"} == set(contract.JOB_DEADLETTER_FIELDS)
    scored = [part.split()[0] for part in transform.SCORED_DDL.split(", ")]
    assert set(transform.DOC_COLUMNS) <= set(scored)
    assert set(transform.DEADLETTER_COLUMNS) <= set(scored)


def test_the_producer_speaks_the_same_vocabulary() -> None:
    from tweet_producer import events

    assert events.REASONS == contract.PRODUCER_REASONS
    assert events.SOURCES == contract.SOURCES
    assert events.RAW_CAP_BYTES == contract.RAW_CAP_BYTES
    assert set(contract.PRODUCER_REASONS) | set(contract.JOB_REASONS) == set(contract.REASONS)
    assert set(contract.REASON_DESCRIPTIONS) == set(contract.REASONS)


def test_every_skip_reason_is_documented() -> None:
    """The reasons table itself is generated (devtools.docs, checked by tests/test_docs.py)."""
    for reason in contract.SKIP_REASONS:
        assert f"`{reason}`" in EVENT_DOC


@pytest.mark.parametrize(
    ("post_id", "fits"),
    [("é" * 400, False), ("é" * 255, True), ("é" * 256, False), ("x" * 510, True), ("x" * 511, False)],
)
def test_one_id_rule_in_bytes_for_producer_and_job(post_id: str, fits: bool) -> None:
    """The producer rejects exactly the ids the job would: `x:<id>` over 512 UTF-8 bytes.
    (The job's own Spark check is exercised in tests/spark_job/test_job_transform.py.)"""
    from tweet_producer.events import InvalidRecord, post_from_x

    assert contract.id_fits("x", post_id) is fits
    assert (len(f"x:{post_id}".encode()) <= 512) is fits  # what the job's octet_length computes
    envelope = {"data": {"id": post_id, "text": "t", "created_at": "2026-01-01T00:00:00Z"}}
    if fits:
        post_from_x(envelope, "x")
    else:
        with pytest.raises(InvalidRecord) as err:
            post_from_x(envelope, "x")
        assert err.value.reason == "bad_value"


def test_snowflake_time() -> None:
    assert contract.snowflake_time_ms("1850000000000000001") == 1729909345994
    assert contract.snowflake_time_ms("123") is None
    assert contract.snowflake_time_ms("0001850000000000000001") is None
    assert contract.snowflake_time_ms("18500000000000000x1") is None


def test_the_document_names_every_sentiment_label() -> None:
    """Document.sentiment is a str (the labels live with the analyzers); its description, the
    docs' table, must still name each of them."""
    from sentiment_job import sentiment

    description = contract.Document.model_fields["sentiment"].description or ""
    assert [label for label in sentiment.LABELS if f"`{label}`" not in description] == []
