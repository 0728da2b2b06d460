"""The languages part of `make bench` (its batches, its page section) and the calibration loop."""

from __future__ import annotations

from typing import Any

from devtools import calibration
from devtools.bench import languages
from devtools.bench.run import config
from tests.devtools.bench_pages import render_page


def test_calibration_loop_is_fixed_work_and_timed_positive() -> None:
    # A changed loop makes old pages incomparable: its checksum pins it (bump VERSION if it must change).
    assert calibration.loop(1000) == calibration.loop(1000)
    assert calibration.loop() == 4_036_233_544
    assert calibration.calibration(rounds=1) > 0


def test_batches_keep_the_samples_mix_and_untag_a_seeded_share() -> None:
    posts = languages.sample_posts()
    assert {lang for _, lang in posts} >= {"en", "ja", "pt", "es", "de", "fr", "it", "ar", "hi", "ko", "und"}
    texts, tagged = languages.batch(posts, 0.0, size=2 * len(posts))
    assert texts[: len(posts)] == [text for text, _ in posts]
    assert tagged[: len(posts)] == [lang for _, lang in posts]
    _, some = languages.batch(posts, 0.15, size=2000)
    share = sum(lang is None for lang in some) / 2000
    assert 0.12 < share < 0.18
    assert some == languages.batch(posts, 0.15, size=2000)[1]  # seeded: the same posts every run
    assert set(languages.batch(posts, 1.0, size=100)[1]) == {None}


def result(rate: int) -> dict[str, Any]:
    return {
        "posts_per_second": {kind: {"multi-lr": rate, "tweet-lr": 2 * rate} for kind in languages.BATCHES},
        "posts": 2000,
        "samples": 384,
        "mix": {"en": 134, "ja": 78},
        "calibration": 3_000_000,
        "load": 0.4,
    }


def page(part: dict[str, Any] | None) -> str:
    return render_page() if part is None else render_page(languages=part)


def test_page_holds_the_default_model_to_15k_on_the_mixed_batch_with_the_calibration() -> None:
    model = config()["latency_model"]
    assert model == "multi-lr"
    text = page(result(17_000))
    assert "## 8. Languages: one core, clean + identify + score" in text
    assert "| 15% untagged | 17,000 | 34,000 |" in text
    assert "Calibration at the time: 3,000,000 loop iterations/s" in text
    assert "our samples 15% untagged ≥ 15,000 posts/s | 17,000/s | **met** |" in text
    assert "| 14,000/s | **not met** |" in page(result(14_000))


def test_no_part_no_section() -> None:
    assert "## 8. Languages" not in page(None)
