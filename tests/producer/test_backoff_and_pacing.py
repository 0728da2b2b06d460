"""Reconnect schedules, rate pacing and line splitting: pure logic, no I/O, no real sleeps."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tweet_producer.backoff import (
    Failure,
    ReconnectBackoff,
    http_delay,
    network_delay,
    rate_limit_delay,
    rate_limit_reset,
)
from tweet_producer.pacing import Pacer, ahead_by, batch_size
from tweet_producer.sources.base import LineSplitter


def test_network_errors_back_off_linearly_by_250ms_up_to_16s() -> None:
    delays = [network_delay(n) for n in range(1, 70)]
    assert delays[:4] == [0.25, 0.5, 0.75, 1.0]
    assert delays[63] == 16.0
    assert max(delays) == 16.0
    assert all(b - a in (0.25, 0.0) for a, b in itertools.pairwise(delays))


def test_http_errors_back_off_exponentially_from_5s_up_to_320s() -> None:
    assert [http_delay(n) for n in range(1, 10)] == [5, 10, 20, 40, 80, 160, 320, 320, 320]


def test_rate_limit_backs_off_exponentially_from_a_minute() -> None:
    assert [rate_limit_delay(n) for n in range(1, 7)] == [60, 120, 240, 480, 900, 900]


def test_rate_limit_waits_until_the_reset_time_when_given() -> None:
    now = 1_700_000_000.0
    assert rate_limit_delay(1, reset_at=now + 42, now=now) == 42
    assert rate_limit_delay(3, reset_at=now + 5, now=now) == 5
    # A reset in the past says nothing useful: exponential again.
    assert rate_limit_delay(2, reset_at=now - 5, now=now) == 120
    assert rate_limit_delay(1, reset_at=now + 10_000, now=now) == 900


def test_rate_limit_reset_header_parsing() -> None:
    assert rate_limit_reset({"x-rate-limit-reset": "1700000042"}) == 1_700_000_042
    assert rate_limit_reset({}) is None
    assert rate_limit_reset({"x-rate-limit-reset": "soon"}) is None


def test_each_failure_kind_has_its_own_schedule_and_a_connection_resets_all() -> None:
    backoff = ReconnectBackoff()
    assert backoff.next_delay(Failure.NETWORK) == 0.25
    assert backoff.next_delay(Failure.HTTP) == 5
    assert backoff.next_delay(Failure.NETWORK) == 0.5
    assert backoff.next_delay(Failure.HTTP) == 10
    assert backoff.next_delay(Failure.RATE_LIMIT) == 60
    backoff.reset()
    assert backoff.next_delay(Failure.NETWORK) == 0.25
    assert backoff.next_delay(Failure.HTTP) == 5
    assert backoff.next_delay(Failure.RATE_LIMIT) == 60


class FakeClock:
    """Time moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize("rate", [1.0, 50.0, 6000.0, 20000.0])
def test_pacer_holds_the_rate_and_sleeps_per_batch_not_per_post(rate: float) -> None:
    clock = FakeClock()
    pacer = Pacer(rate, clock=clock, sleep=clock.sleep)
    posts = int(rate * 3)
    for _ in range(posts):
        pacer.tick()
    assert clock.now == pytest.approx(posts / rate, rel=0.01)
    assert len(clock.sleeps) == posts // batch_size(rate)
    if rate >= 1000:
        assert len(clock.sleeps) <= posts / 50


def test_pacer_does_not_burst_to_catch_up_after_a_long_pause() -> None:
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        pacer.tick()
    clock.now += 30  # the consumer was blocked for 30 s
    pacer.tick()
    start = clock.now
    for _ in range(199):
        pacer.tick()
    # After the pause the schedule restarts: 200 more posts take ~2 s, not 0.
    assert clock.now - start == pytest.approx(2.0, abs=0.05)


def test_pacer_without_a_rate_never_sleeps() -> None:
    clock = FakeClock()
    pacer = Pacer(0, clock=clock, sleep=clock.sleep)
    for _ in range(10_000):
        pacer.tick()
    assert clock.sleeps == []
    assert ahead_by(10, 10.0, 0.5) == 0.5


@given(
    st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    st.lists(st.integers(min_value=1, max_value=17), min_size=1, max_size=10),
    st.booleans(),
)
def test_splitter_yields_the_same_lines_however_the_bytes_are_chunked(
    lines: list[bytes], cuts: list[int], crlf: bool
) -> None:
    end = b"\r\n" if crlf else b"\n"
    data = b"".join(line.rstrip(b"\r") + end for line in lines)
    splitter = LineSplitter(limit=1000)
    out = []
    pos = 0
    i = 0
    while pos < len(data):
        step = cuts[i % len(cuts)]
        out.extend(splitter.feed(data[pos : pos + step]))
        pos += step
        i += 1
    out.extend(splitter.finish())
    assert [line.data for line in out] == [line.rstrip(b"\r") for line in lines]
    assert all(line.size == len(line.data) for line in out)


def test_splitter_keeps_only_a_prefix_of_an_oversized_line_but_reports_its_size() -> None:
    splitter = LineSplitter(limit=10)
    lines = splitter.feed(b"short\n" + b"x" * 25)
    lines += splitter.feed(b"y" * 25 + b"\nafter")
    lines += splitter.finish()
    assert [(line.data, line.size) for line in lines] == [
        (b"short", 5),
        (b"x" * 10, 50),
        (b"after", 5),
    ]


def test_splitter_treats_keepalive_crlf_as_empty_lines() -> None:
    splitter = LineSplitter(limit=100)
    lines = splitter.feed(b"\r\n\r\n{}\r\n\r\n")
    assert [line.data for line in lines] == [b"", b"", b"{}", b""]
