"""The one poll loop: the services' start-up, the pipeline runs and the tests all wait with it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class PipelineError(AssertionError):
    """A wait timed out, a process died or a script is missing; the message says which and
    where to look. An AssertionError, so a test fails on it (not errors)."""


class Watched(Protocol):
    """What a wait watches besides its condition (`process.Supervisor`)."""

    def check(self, allow_exit: Iterable[Any] = ()) -> None: ...

    def tails(self) -> str: ...


def wait_until(
    check: Callable[[], T | None],
    timeout: float,
    what: str,
    supervisor: Watched | None = None,
    allow_exit: Iterable[Any] = (),
    interval: float = 0.5,
    *,
    alive: Callable[[], bool] | None = None,
    error: Callable[[str], Exception] = PipelineError,
) -> T:
    """Poll `check` until it returns something truthy and return that; an exception from it
    counts as "not yet" (a service mid-restart answers with errors).

    Fails with `error` after `timeout`, at once when `supervisor.check` raises (a process
    died), or when `alive()` turns false and `check` still fails once more.
    """
    deadline = time.monotonic() + timeout
    allowed = tuple(allow_exit)
    last: Any = None

    def attempt() -> bool:
        nonlocal last
        try:
            last = check()
        except Exception as exc:
            last = exc
        return bool(last) and not isinstance(last, Exception)

    while True:
        if supervisor is not None:
            supervisor.check(allowed)
        if attempt():
            return last  # type: ignore[no-any-return]
        if alive is not None and not alive():
            if attempt():  # it may have got there just before exiting
                return last  # type: ignore[no-any-return]
            raise error(f"{what}: the process exited (last: {last!r})")
        if time.monotonic() > deadline:
            tails = f"\n{supervisor.tails()}" if supervisor is not None else ""
            raise error(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r}){tails}")
        time.sleep(interval)
