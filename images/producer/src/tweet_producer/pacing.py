"""Rate limiting for replay and synthetic: paces in batches, not with a sleep per post.

A sleep per post cannot go beyond a few hundred posts/s (sleep granularity and overhead),
so the pacer only looks at the clock every `batch` posts and then sleeps off however far
ahead of the schedule it is. That reaches many thousands of posts/s.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# Look at the clock about this often (seconds of schedule per batch).
GRANULARITY_SECONDS = 0.01
# Further behind than this (a slow consumer, a stopped broker): start a fresh schedule
# instead of bursting to catch up.
MAX_LAG_SECONDS = 1.0


def batch_size(rate: float) -> int:
    return max(1, int(rate * GRANULARITY_SECONDS))


def ahead_by(sent: int, rate: float, elapsed: float) -> float:
    """Seconds the sender is ahead of a `rate` posts/s schedule (negative: behind)."""
    return sent / rate - elapsed


class Pacer:
    """Call tick() once per post; it sleeps when the posts so far are ahead of `rate`/s.

    rate 0 means no limit. `clock` and `sleep` are injectable for tests.
    """

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._batch = batch_size(rate) if rate > 0 else 0
        self._start = clock()
        self._sent = 0

    def tick(self) -> None:
        if self.rate <= 0:
            return
        self._sent += 1
        if self._sent % self._batch:
            return
        ahead = ahead_by(self._sent, self.rate, self._clock() - self._start)
        if ahead > 0:
            self._sleep(ahead)
        elif ahead < -MAX_LAG_SECONDS:
            self._start = self._clock()
            self._sent = 0
