"""`devtools.bench.threads`' JOB_EXTRA: the job settings a profiling run adds (pure)."""

from __future__ import annotations

import pytest

from devtools.bench.threads import job_extra


def test_values_keep_their_commas_and_equals_signs() -> None:
    text = "TRIGGER=processingTime=250ms 'JDK_JAVA_OPTIONS=-XX:StartFlightRecording=settings=profile,filename=/tmp/a.jfr'"
    assert job_extra(text) == {
        "TRIGGER": "processingTime=250ms",
        "JDK_JAVA_OPTIONS": "-XX:StartFlightRecording=settings=profile,filename=/tmp/a.jfr",
    }


def test_a_quoted_value_holds_spaces_and_nothing_is_nothing() -> None:
    assert job_extra('SPARK_CONF="a=1 b=2"') == {"SPARK_CONF": "a=1 b=2"}
    assert job_extra("  ") == {}


@pytest.mark.parametrize("text", ["TRIGGER", "=x", "A=1 oops"])
def test_a_word_without_a_name_and_value_is_refused_by_name(text: str) -> None:
    with pytest.raises(SystemExit, match=r"JOB_EXTRA: .* is not NAME=value"):
        job_extra(text)
