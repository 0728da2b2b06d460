"""The demo's pure logic (no services): settings, which sources end, the progress view and the
metrics it reads. The demo itself runs in tests/e2e/test_demo.py."""

from __future__ import annotations

import io

import pytest

from devtools import demo


def test_bad_setting_names_its_variable() -> None:
    with pytest.raises(demo.DemoError, match="DEMO_SECONDS='soon'"):
        demo.settings_from({"DEMO_SECONDS": "soon"})


def test_settings_env_then_flags() -> None:
    args = demo.parser().parse_args(["run", "--index", "from-flag", "--job-port", "19109"])
    s = demo.settings_from({"DEMO_INDEX": "from-env", "DEMO_TOPIC": "t1", "DEMO_KEEP": "1"}, args)
    assert (s.index, s.topic, s.job_port, s.producer_port, s.keep) == ("from-flag", "t1", 19109, 9108, True)
    assert s.output_dir.is_absolute()


@pytest.mark.parametrize(
    ("source", "env", "finite"),
    [
        ("replay", {}, True),
        ("replay", {"REPLAY_LOOP": "true"}, False),
        ("synthetic", {}, False),
        ("synthetic", {"SYNTHETIC_LIMIT": "500"}, True),
        ("bluesky", {}, False),
    ],
)
def test_which_sources_end_by_themselves(source: str, env: dict[str, str], finite: bool) -> None:
    assert demo.Settings(source=source).finite(env) is finite


def progress(**kw: object) -> demo.Progress:
    base: dict[str, object] = {
        "elapsed": 12.4,
        "published": 345,
        "invalid": 0,
        "deadlettered": 0,
        "producer": "exited 0",
        "job_rows": 345,
        "job_batches": 2,
        "job_behind": 0,
        "indexed": 300,
        "labels": {"Positive": 120, "Neutral": 100, "Negative": 80, "Unsupported": 0},
        "expected": 345,
        "rate": 42.5,
    }
    base.update(kw)
    return demo.Progress(**base)  # type: ignore[arg-type]


def test_render_progress_lines() -> None:
    lines = demo.render_progress(progress())
    assert lines[0].startswith("tweet-sentiment demo")
    assert "published 345" in lines[1]
    assert "(exited 0)" in lines[1]
    assert "batches 2   rows read 345   offsets behind 0" in lines[2]
    assert "first batch" in demo.render_progress(progress(job_batches=0))[2]
    assert "300 / 345 [##########################----]   42.5 posts/s" in lines[3]
    assert lines[4] == "  labels     Positive 120  Neutral 100  Negative 80"


def test_view_redraws_on_a_terminal_and_prints_lines_otherwise() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    view = demo.View(tty)
    if not view.tty:  # TERM=dumb
        pytest.skip("TERM=dumb disables the redraw")
    view.show(progress())
    view.show(progress(indexed=345))
    first, second = tty.getvalue().split("\x1b[5F\x1b[J")
    assert first.count("\n") == 5
    assert "345 / 345" in second

    plain = io.StringIO()
    view = demo.View(plain, every=5.0)
    for t in (0.0, 1.0, 2.0, 6.0):
        view.show(progress(elapsed=t))
    assert plain.getvalue().count("\n") == 2
    assert "\x1b" not in plain.getvalue()
    assert plain.getvalue().startswith(
        "[   0s] published 345, indexed 300/345 (Positive 120, Neutral 100, Negative 80)"
    )


def test_parse_metrics_sums_label_sets() -> None:
    text = (
        "# HELP producer_posts_published_total x\n"
        "# TYPE producer_posts_published_total counter\n"
        "producer_posts_published_total 345.0\n"
        'producer_records_invalid_total{source="replay",reason="json"} 2.0\n'
        'producer_records_invalid_total{source="replay",reason="no_id"} 3.0\n'
        'sentiment_job_offsets_behind_latest{topic="posts"} 7.0\n'
    )
    values = demo.parse_metrics(text)
    assert demo.metric_sum(values, "producer_posts_published_total") == 345
    assert demo.metric_sum(values, "producer_records_invalid_total") == 5
    assert demo.metric_sum(values, "producer_records_invalid_total", reason="no_id") == 3
    assert demo.metric_sum(values, "producer_records") == 0
    assert demo.metric_value(values, "sentiment_job_offsets_behind_latest", topic="posts") == 7
    assert demo.metric_value(values, "sentiment_job_offsets_behind_latest", topic="other") is None


def test_parse_metrics_reads_samples_with_a_timestamp() -> None:
    # The text format allows a millisecond timestamp after the value; a hand-rolled
    # "split on the last space" parser read the timestamp as the value.
    text = (
        "# TYPE producer_posts_published_total counter\n"
        "producer_posts_published_total 345.0 1712345678000\n"
        'sentiment_job_offsets_behind_latest{topic="posts"} 7 1712345678000\n'
    )
    values = demo.parse_metrics(text)
    assert demo.metric_sum(values, "producer_posts_published_total") == 345
    assert demo.metric_value(values, "sentiment_job_offsets_behind_latest", topic="posts") == 7
    assert values[0].timestamp == 1712345678.0


def _summary_by_language() -> object:
    from sentiment_job import stats

    langs = {
        "en": {"Positive": 5, "Neutral": 3, "Negative": 2},
        "ja": {"Unsupported": 6},
        "pt-BR": {"Unsupported": 4},
        "und": {"Neutral": 1},
    }
    buckets = [
        {
            "key": lang,
            "doc_count": sum(labels.values()),
            "labels": {"buckets": [{"key": k, "doc_count": v} for k, v in labels.items()]},
        }
        for lang, labels in langs.items()
    ]
    totals: dict[str, int] = {}
    for labels in langs.values():
        for k, v in labels.items():
            totals[k] = totals.get(k, 0) + v
    response = {
        "hits": {"total": {"value": 21}},
        "aggregations": {
            "labels": {"buckets": [{"key": k, "doc_count": v} for k, v in totals.items()]},
            "created_first": {"value": 1_790_000_000_000},
            "created_last": {"value": 1_790_003_600_000},
            "tagged_lang": {"langs": {"buckets": buckets}},
        },
    }
    return stats.parse_summary("tweets-sentiment", response)


def test_chart_has_a_panel_by_language_split_by_label(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sentiment_job import stats

    summary = _summary_by_language()
    fig, ax = plt.subplots()
    try:
        demo.draw_languages(ax, summary)
        # Most posted language at the top.
        rows = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)}
        assert sorted(rows, key=rows.__getitem__, reverse=True) == ["en", "ja", "pt", "und"]
        widths = {}
        for container, label in zip(ax.containers, ax.get_legend_handles_labels()[1], strict=True):
            widths[label] = [bar.get_width() for bar in container]
        # Bars are listed in row order (en, ja, pt, und).
        assert widths == {
            "Positive": [5, 0, 0, 0],
            "Neutral": [3, 0, 0, 1],
            "Negative": [2, 0, 0, 0],
            "Unsupported": [0, 6, 4, 0],
        }
        assert "10 (48%)" in [t.get_text().strip() for t in ax.texts]
    finally:
        plt.close(fig)
    from datetime import datetime, timezone

    start = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)
    timeline = stats.Timeline(
        interval_seconds=600,
        starts=[start],
        counts={"Positive": [5]},
        polarity_bins=[0.5],
        polarity_counts={"Positive": [5]},
    )
    path = demo.write_chart(timeline, summary, tmp_path / "chart.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
