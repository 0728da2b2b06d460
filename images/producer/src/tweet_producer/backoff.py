"""Reconnect schedules, as pure functions, following X's documented stream rules.

https://docs.x.com/x-api/fundamentals/consuming-streaming-data (reconnecting):
- TCP/IP-level network errors (and stalls, and a stream the server simply ended):
  back off linearly, +250 ms per attempt, up to 16 s;
- HTTP errors: back off exponentially, from 5 s, doubling, up to 320 s;
- HTTP 429: back off exponentially from 1 minute, or until x-rate-limit-reset when the
  response says when the window resets;
- a successful connection resets every schedule.
Jetstream has no published rules; it reuses the same schedules.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum


class Failure(str, Enum):
    NETWORK = "network"
    HTTP = "http"
    RATE_LIMIT = "rate_limit"


NETWORK_STEP_SECONDS = 0.25
NETWORK_MAX_SECONDS = 16.0
HTTP_START_SECONDS = 5.0
HTTP_MAX_SECONDS = 320.0
RATE_LIMIT_START_SECONDS = 60.0
# X's rate-limit windows are 15 minutes; waiting longer than one never helps.
RATE_LIMIT_MAX_SECONDS = 900.0


def network_delay(attempt: int) -> float:
    """Delay before reconnect number `attempt` (1-based) after a network error."""
    return min(NETWORK_STEP_SECONDS * max(attempt, 1), NETWORK_MAX_SECONDS)


def http_delay(attempt: int) -> float:
    return min(HTTP_START_SECONDS * 2.0 ** (max(attempt, 1) - 1), HTTP_MAX_SECONDS)


def rate_limit_delay(attempt: int, reset_at: float | None = None, now: float = 0.0) -> float:
    """Until `reset_at` (epoch seconds, from x-rate-limit-reset) when it lies ahead, else exponential."""
    if reset_at is not None and reset_at > now:
        return min(reset_at - now, RATE_LIMIT_MAX_SECONDS)
    return min(RATE_LIMIT_START_SECONDS * 2.0 ** (max(attempt, 1) - 1), RATE_LIMIT_MAX_SECONDS)


def rate_limit_reset(headers: Mapping[str, str]) -> float | None:
    """x-rate-limit-reset (epoch seconds) from a 429's headers, when present and numeric."""
    value = headers.get("x-rate-limit-reset")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class ReconnectBackoff:
    """Attempt counters per failure kind; reset() after each successful connection."""

    def __init__(self) -> None:
        self._attempts = dict.fromkeys(Failure, 0)

    def reset(self) -> None:
        self._attempts = dict.fromkeys(Failure, 0)

    def next_delay(self, kind: Failure, reset_at: float | None = None, now: float = 0.0) -> float:
        self._attempts[kind] += 1
        attempt = self._attempts[kind]
        if kind is Failure.NETWORK:
            return network_delay(attempt)
        if kind is Failure.HTTP:
            return http_delay(attempt)
        return rate_limit_delay(attempt, reset_at, now)
