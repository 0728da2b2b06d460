"""`sentiment_job.stats` and `tweet-sentiment stats`: the index summary.

The ES tests index a dozen known documents into a fresh index of the real local
Elasticsearch and check every number of the summary against values worked out by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sentiment_job import stats
from tests.conftest import unique

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "tweet-sentiment"
BASE = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)

# (label, polarity, latency ms). Polarities are binary fractions so a float field and the
# avg aggregation reproduce them exactly.
ROWS = [
    ("Positive", 1.0, 120),
    ("Positive", 0.75, 250),
    ("Positive", 0.5, 300),
    ("Positive", 0.25, 410),
    ("Positive", 0.125, 520),
    ("Neutral", 0.0, 700),
    ("Neutral", 0.0, 800),
    ("Negative", -0.125, 950),
    ("Negative", -0.25, 1200),
    ("Negative", -0.5, 1500),
    ("Negative", -1.0, 2300),
    ("Unsupported", None, 4000),
]
# Worked out by hand: 5/4/2/1 of 12; mean over the 11 scored = 0.75 / 11; latency
# percentiles by linear interpolation over the 12 sorted latencies (rank = 11 * p).
EXPECTED_LABELS = {"Positive": 5, "Neutral": 2, "Negative": 4, "Unsupported": 1}
EXPECTED_MEAN = 0.75 / 11
EXPECTED_P50 = 0.750  # rank 5.5: (700 + 800) / 2
EXPECTED_P95 = 3.065  # rank 10.45: 2300 + 0.45 * 1700
EXPECTED_P99 = 3.813  # rank 10.89: 2300 + 0.89 * 1700

MAPPING = {
    "properties": {
        "id": {"type": "keyword"},
        "source": {"type": "keyword"},
        "text": {"type": "text"},
        "clean_text": {"type": "text"},
        "lang": {"type": "keyword"},
        "created_at": {"type": "date"},
        "ingested_at": {"type": "date"},
        "indexed_at": {"type": "date"},
        "polarity": {"type": "float"},
        "subjectivity": {"type": "float"},
        "sentiment": {"type": "keyword"},
        "model": {"type": "keyword"},
    }
}


def iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def documents() -> list[dict[str, object]]:
    docs = []
    for i, (label, polarity, latency_ms) in enumerate(ROWS):
        ingested = BASE + timedelta(seconds=i)
        doc: dict[str, object] = {
            "id": f"p{i:02d}",
            "source": "replay",
            "text": f"post {i} is {label.lower()}",
            "clean_text": f"post {i} is {label.lower()}",
            "lang": ("en-GB" if i == 1 else "en") if polarity is not None else "fr",
            "created_at": iso(BASE - timedelta(hours=3) + timedelta(minutes=15 * i)),
            "ingested_at": iso(ingested),
            "indexed_at": iso(ingested + timedelta(milliseconds=latency_ms)),
            "sentiment": label,
            "model": "textblob",
        }
        if polarity is not None:
            doc["polarity"] = polarity
            doc["subjectivity"] = 0.5
        docs.append(doc)
    return docs


def index_body() -> dict[str, object]:
    """The job's own template (settings + strict mappings), applied to one test index."""
    try:
        from sentiment_job.es_setup import load_template
    except ImportError:  # the streaming part is not installed: the same fields by hand
        return {"mappings": MAPPING}
    return dict(load_template("documents")["template"])


@pytest.fixture
def stats_index(es_client):  # type: ignore[no-untyped-def]
    index = unique("tweets-sentiment-stats-test")
    es_client.indices.create(index=index, **index_body())
    for doc in documents():
        es_client.index(index=index, id=f"replay:{doc['id']}", document=doc)
    es_client.indices.refresh(index=index)
    yield index
    es_client.options(ignore_status=404).indices.delete(index=index)


def check_summary(data: dict[str, object]) -> None:
    """Assertions shared by the library and the CLI's JSON."""
    assert data["total"] == 12
    labels = data["labels"]
    assert {k: v["count"] for k, v in labels.items()} == EXPECTED_LABELS  # type: ignore[union-attr]
    assert labels["Positive"]["share"] == 5 / 12  # type: ignore[index]
    assert labels["Unsupported"]["share"] == 1 / 12  # type: ignore[index]
    assert data["mean_polarity"] == pytest.approx(EXPECTED_MEAN, abs=1e-12)
    latency = data["latency"]
    assert latency["sample"] == 12  # type: ignore[index]
    assert latency["p50"] == pytest.approx(EXPECTED_P50, abs=1e-9)  # type: ignore[index]
    assert latency["p95"] == pytest.approx(EXPECTED_P95, abs=1e-9)  # type: ignore[index]
    assert latency["p99"] == pytest.approx(EXPECTED_P99, abs=1e-9)  # type: ignore[index]
    assert latency["max"] == pytest.approx(4.0, abs=1e-9)  # type: ignore[index]
    assert [p["polarity"] for p in data["most_positive"]] == [1.0, 0.75, 0.5]  # type: ignore[union-attr]
    assert [p["polarity"] for p in data["most_negative"]] == [-1.0, -0.5, -0.25]  # type: ignore[union-attr]
    assert [p["id"] for p in data["most_negative"]] == ["p10", "p09", "p08"]  # type: ignore[union-attr]
    # First ingested_at is BASE; the last indexed_at is doc 11's: 11 s + 4 s later.
    assert data["elapsed_seconds"] == pytest.approx(15.0)
    assert data["throughput_per_second"] == pytest.approx(12 / 15.0)
    # By language: `en-GB` counts as `en`; the French post has no model.
    assert data["languages"] == {
        "en": {"count": 11, "share": 11 / 12, "labels": {"Positive": 5, "Neutral": 2, "Negative": 4}},
        "fr": {"count": 1, "share": 1 / 12, "labels": {"Unsupported": 1}},
    }


# --- against the real Elasticsearch ---------------------------------------------------


@pytest.mark.es
def test_fetch_summary_counts_shares_mean_and_latency(es_client, stats_index) -> None:
    summary = stats.fetch_summary(es_client, stats_index)
    check_summary(summary.to_dict())
    assert summary.created_first == BASE - timedelta(hours=3)
    assert summary.created_last == BASE - timedelta(hours=3) + timedelta(minutes=15 * 11)
    assert summary.most_positive[0].text == "post 0 is positive"


@pytest.mark.es
def test_languages_prefer_the_language_the_job_scored_as(es_client) -> None:
    """Where documents carry `sentiment_lang` (the language a post was scored as: a language
    identifier's guess for `und`), the summary counts it; older documents count by `lang`."""
    index = unique("tweets-sentiment-stats-lang")
    mapping = {"properties": {**MAPPING["properties"], "sentiment_lang": {"type": "keyword"}}}
    es_client.indices.create(index=index, mappings=mapping)
    try:
        docs = [
            {"lang": "und", "sentiment_lang": "es", "sentiment": "Positive"},
            {"lang": "es", "sentiment_lang": "es", "sentiment": "Negative"},
            {"lang": "pt-BR", "sentiment_lang": "pt", "sentiment": "Neutral"},
            {"lang": "und", "sentiment_lang": "und", "sentiment": "Unsupported"},
            {"lang": "ja", "sentiment": "Unsupported"},  # indexed before the field existed
            {"lang": "pt-PT", "sentiment": "Unsupported"},
        ]
        for i, doc in enumerate(docs):
            es_client.index(index=index, id=str(i), document={"id": str(i), **doc})
        es_client.indices.refresh(index=index)
        summary = stats.fetch_summary(es_client, index)
    finally:
        es_client.options(ignore_status=404).indices.delete(index=index)
    assert summary.languages == {
        "es": {"Positive": 1, "Negative": 1},
        "pt": {"Neutral": 1, "Unsupported": 1},
        "ja": {"Unsupported": 1},
        "und": {"Unsupported": 1},
    }


@pytest.mark.es
def test_fetch_timeline_buckets_every_post(es_client, stats_index) -> None:
    summary = stats.fetch_summary(es_client, stats_index)
    timeline = stats.fetch_timeline(es_client, stats_index, summary, buckets=40)
    # 2h45m of created_at in at most 40 buckets -> 5 minute buckets, 34 of them.
    assert timeline.interval_seconds == 300
    assert len(timeline.starts) == 34
    assert {k: sum(v) for k, v in timeline.counts.items()} == EXPECTED_LABELS
    # The Unsupported post has no polarity; the other 11 land in 20 bins of 0.1 from -1.
    assert sum(timeline.polarity_totals) == 11
    assert timeline.polarity_bins[0] == -1.0
    assert len(timeline.polarity_bins) == 20
    by_bin = dict(zip(timeline.polarity_bins, timeline.polarity_totals, strict=True))
    assert by_bin[0.0] == 2  # the two neutral posts; 0.125 is in [0.1, 0.2)
    assert by_bin[0.1] == 1
    assert by_bin[0.9] == 1  # 1.0 is counted in the top bin
    assert by_bin[-1.0] == 1
    # Each bin is split by the label the job gave its posts.
    assert set(timeline.polarity_counts) == {"Positive", "Neutral", "Negative"}
    neutral = dict(zip(timeline.polarity_bins, timeline.polarity_counts["Neutral"], strict=True))
    assert neutral[0.0] == 2
    assert sum(timeline.polarity_counts["Positive"]) == 5
    assert timeline.polarity_counts["Positive"][-1] == 1


@pytest.mark.es
def test_cli_json_matches_the_library(es_url, stats_index) -> None:
    result = subprocess.run(
        [str(CLI), "stats", "--es-url", es_url, "--index", stats_index, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    check_summary(json.loads(result.stdout))


@pytest.mark.es
def test_cli_text_reads_env_and_lists_every_label(es_url, stats_index) -> None:
    env = {**os.environ, "ES_URL": es_url, "ES_INDEX": stats_index}
    result = subprocess.run(
        [str(CLI), "stats"], capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"Index {stats_index} ({es_url}): 12 posts" in out
    for label, count in EXPECTED_LABELS.items():
        assert any(line.split()[:2] == [label, str(count)] for line in out.splitlines()), out
    assert "mean polarity      +0.068" in out
    assert "p50 750 ms   p95 3.06 s   p99 3.81 s" in out
    assert "+1.000  post 0 is positive  [p00]" in out
    assert "-1.000  post 10 is negative  [p10]" in out
    by_language = out[out.index("By language") :].splitlines()
    assert by_language[1].split() == [
        "language",
        "posts",
        "share",
        "Positive",
        "Neutral",
        "Negative",
        "Unsupported",
    ]
    assert by_language[2].split() == ["en", "11", "91.7%", "45%", "18%", "36%", "-"]
    assert by_language[3].split() == ["fr", "1", "8.3%", "-", "-", "-", "100%"]


@pytest.mark.es
def test_cli_missing_index_is_a_clear_error(es_url) -> None:
    index = unique("no-such-index")
    result = subprocess.run(
        [str(CLI), "stats", "--es-url", es_url, "--index", index],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert f"index '{index}' does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_unreachable_es_is_a_clear_error() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    result = subprocess.run(
        [str(CLI), "stats", "--es-url", "http://127.0.0.1:1", "--timeout", "5"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "cannot reach Elasticsearch at http://127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_password_is_never_printed(tmp_path) -> None:
    env = {**os.environ, "ES_USERNAME": "elastic", "ES_PASSWORD": "s3cret-pw"}
    result = subprocess.run(
        [str(CLI), "stats", "--es-url", "http://127.0.0.1:1", "--timeout", "5"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert result.returncode == 1
    assert "s3cret-pw" not in result.stdout + result.stderr


# --- pure functions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        ([5.0], 99, 5.0),
        ([1.0, 2.0], 50, 1.5),
        ([1.0, 2.0, 3.0, 4.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 100, 4.0),
        ([1.0, 2.0, 3.0, 4.0], 95, 3.85),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 50, 30.0),
    ],
)
def test_percentile_is_linear_interpolation(values: list[float], percent: float, expected: float) -> None:
    assert stats.percentile(values, percent) == pytest.approx(expected)


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        stats.percentile([], 50)


@pytest.mark.parametrize(
    ("span", "interval"),
    [(0, 1), (40, 1), (41, 5), (3 * 3600, 300), (2 * 86400, 2 * 3600), (10**9, 7 * 86400)],
)
def test_pick_interval(span: float, interval: int) -> None:
    assert stats.pick_interval(span, buckets=40) == interval


def test_latencies_skip_hits_without_both_fields() -> None:
    hits = [
        {"fields": {"ingested_at": ["1000"], "indexed_at": ["1250"]}},
        {"fields": {"ingested_at": ["1000"]}},
        {},
    ]
    assert stats.latencies_from_hits(hits) == [0.25]
    assert stats.latency_from_values([]) is None


def canned_response() -> dict[str, object]:
    post = {
        "id": "7",
        "source": "x",
        "text": "so\ngood  indeed &lt;3",
        "polarity": 0.9,
        "sentiment": "Positive",
    }
    return {
        "hits": {"total": {"value": 4, "relation": "eq"}},
        "aggregations": {
            "labels": {"buckets": [{"key": "Positive", "doc_count": 3}, {"key": "Mixed", "doc_count": 1}]},
            "polarity": {"value": 0.25},
            "subjectivity": {"value": None},
            "created_first": {"value": 0.0},
            "created_last": {"value": 3_600_000.0},
            "first_ingested": {"value": 10_000.0},
            "last_indexed": {"value": 12_000.0},
            "positive": {"top": {"hits": {"hits": [{"_id": "x:7", "_source": post}]}}},
            "negative": {"top": {"hits": {"hits": []}}},
        },
    }


def test_parse_summary_keeps_label_order_and_unknown_labels() -> None:
    summary = stats.parse_summary("idx", canned_response())
    assert list(summary.labels) == ["Positive", "Neutral", "Negative", "Unsupported", "Mixed"]
    assert summary.labels == {"Positive": 3, "Neutral": 0, "Negative": 0, "Unsupported": 0, "Mixed": 1}
    assert summary.shares["Positive"] == 0.75
    assert summary.throughput == 2.0
    assert summary.latency is None
    json.dumps(summary.to_dict())  # serialisable as the CLI's --json


def test_format_summary_text() -> None:
    text = stats.format_summary(stats.parse_summary("idx", canned_response()), source="http://es:9200")
    lines = text.splitlines()
    assert lines[0] == "Index idx (http://es:9200): 4 posts"
    assert "  Positive            3   75.0%  ██████████████████████" in lines
    assert "  Neutral             0    0.0%" in lines
    assert "  mean polarity      +0.250" in lines
    assert "  posts created      1970-01-01 00:00:00 UTC → 1970-01-01 01:00:00 UTC (1h00m00s)" in lines
    assert "  throughput         2.0 posts/s (4 posts, first ingested → last indexed in 2.00 s)" in lines
    assert "    +0.900  so good indeed <3  [7]" in lines
    assert "Most negative" not in text
    assert "latency" not in text


def language_response(langs: dict[str, dict[str, int]], other: int = 0) -> dict[str, object]:
    buckets = [
        {
            "key": lang,
            "doc_count": sum(labels.values()),
            "labels": {"buckets": [{"key": k, "doc_count": v} for k, v in labels.items()]},
        }
        for lang, labels in langs.items()
    ]
    total = sum(sum(labels.values()) for labels in langs.values()) + other
    return {
        "hits": {"total": {"value": total}},
        "aggregations": {
            "labels": {"buckets": []},
            "scored_lang": {"langs": {"buckets": [], "sum_other_doc_count": 0}},
            "tagged_lang": {"langs": {"buckets": buckets, "sum_other_doc_count": other}},
        },
    }


def test_parse_languages_merges_region_subtags_orders_by_posts_and_keeps_the_rest() -> None:
    response = language_response(
        {
            "ja": {"Unsupported": 5},
            "en": {"Positive": 3, "Negative": 1},
            "pt-BR": {"Unsupported": 2, "Positive": 1},
            "pt": {"Neutral": 1},
            "KO": {"Unsupported": 1},
            "": {"Unsupported": 1},
        },
        other=3,
    )
    summary = stats.parse_summary("idx", response)
    assert list(summary.languages) == ["ja", "en", "pt", "other", "ko", "und"]
    # Labels in display order within each language.
    assert list(summary.languages["pt"].items()) == [("Positive", 1), ("Neutral", 1), ("Unsupported", 2)]
    assert summary.languages["other"] == {"(unknown)": 3}
    rows = summary.language_rows(top=2)
    assert rows[:2] == [("ja", {"Unsupported": 5}), ("en", {"Positive": 3, "Negative": 1})]
    assert rows[2] == ("other (4)", {"Positive": 1, "Neutral": 1, "Unsupported": 4, "(unknown)": 3})
    assert summary.language_rows(top=5) == list(summary.languages.items())  # one more: no `other`
    assert summary.to_dict()["languages"]["ja"] == {"count": 5, "share": 5 / 18, "labels": {"Unsupported": 5}}


def test_format_summary_has_a_table_by_language() -> None:
    langs = {f"l{i}": {"Positive": 1} for i in range(14)}
    langs["en"] = {"Positive": 2, "Negative": 1, "Neutral": 1}
    langs["ja"] = {"Unsupported": 3}
    text = stats.format_summary(stats.parse_summary("idx", language_response(langs)))
    table = text[text.index("  By language (16 languages, as scored;") :].splitlines()
    assert table[1].split() == [
        "language",
        "posts",
        "share",
        "Positive",
        "Neutral",
        "Negative",
        "Unsupported",
    ]
    assert table[2].split() == ["en", "4", "19.0%", "50%", "25%", "25%", "-"]
    assert table[3].split() == ["ja", "3", "14.3%", "-", "-", "-", "100%"]
    assert table[-1].split() == ["other", "(4)", "4", "19.0%", "100%", "-", "-", "-"]
    assert len(table) == 2 + 12 + 1


def test_format_summary_of_an_empty_index() -> None:
    empty = {"hits": {"total": {"value": 0}}, "aggregations": {}}
    assert (
        stats.format_summary(stats.parse_summary("idx", empty))
        == "Index idx: 0 posts\n  nothing indexed yet\n"
    )


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.0123, "12 ms"), (1.5, "1.50 s"), (75, "1m15s"), (3 * 3600 + 62, "3h01m02s")]
)
def test_format_duration(seconds: float, text: str) -> None:
    assert stats.format_duration(seconds) == text
