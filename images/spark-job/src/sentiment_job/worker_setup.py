"""Python worker set-up: load once, then remove three fixed costs pyspark puts on every task.

A Python worker is reused task after task. Profiled (py-spy, strace) at 50 posts/s, a task
that scores and writes 5 posts did 15 ms of work and lost ~200 ms to three things that do
not scale with rows:

1. `gc.collect()` after every task (pyspark's daemon): a full collection walks every tracked
   object (95-110k after importing pandas and pyspark, 196k with TextBlob): 33-100 ms.
   `prepare_worker` freezes (`gc.freeze()`) what is loaded, so the collection only walks
   the task's own garbage (0.01 ms).
2. `importlib.invalidate_caches()` before every task: 60-150 ms on Python 3.10/3.11
   (`lazy_zip_invalidation`).
3. A 40 ms delayed-ACK stall between the task's header and its rows (`ack_task_header`).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import socket
import stat
import sys
from typing import Any

_PATCHED = "_tweet_sentiment_lazy"
_ready: set[str] = set()  # the models this worker has loaded and frozen


def ack_task_header() -> None:
    """Acknowledge the task's header now, so the JVM sends the task's rows without waiting.

    Spark's JVM writes a task to its Python worker in two sends, the header (the function,
    ~8 KB) then the first Arrow batch, on a socket with Nagle's algorithm on (no
    TCP_NODELAY). The second send waits for the first one's ACK, which Linux delays by up to
    40 ms when the receiver has nothing to send back: a 40 ms stall in every task, measured
    with strace (SPARK-51667 is the same bug on another of Spark's Python sockets).
    TCP_QUICKACK sends the pending ACK at once. Call it before reading the rows.
    """
    sock = task_socket()
    if sock is not None and hasattr(socket, "TCP_QUICKACK"):
        with contextlib.suppress(OSError):  # the connection closed: the task fails anyway
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


@functools.cache
def task_socket() -> socket.socket | None:
    """The worker's connection to the JVM, looked up once (`_find_task_socket`)."""
    return _find_task_socket()


def _find_task_socket() -> socket.socket | None:
    """The worker's connection to the JVM: before this worker opens sockets of its own (the
    first task), the one connected TCP socket of the process (pyspark holds it under several
    descriptors). A duplicate is kept, so the descriptor number cannot be reused under us.
    None when that is not clear (no /proc, or two connections)."""
    found: dict[tuple[Any, Any], socket.socket] = {}
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return None
    for fd in fds:
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        try:
            key = (sock.getsockname(), sock.getpeername())
        except OSError:
            sock.close()
            continue
        if (
            sock.type != socket.SOCK_STREAM
            or sock.family not in (socket.AF_INET, socket.AF_INET6)
            or key in found
        ):
            sock.close()
            continue
        found[key] = sock
    if len(found) == 1:
        return next(iter(found.values()))
    for sock in found.values():
        sock.close()
    return None


def prepare_worker(model: str) -> None:
    """Load the transform and `model`'s analyzer in this worker, then freeze what is loaded
    (see the module's docstring). Cheap after the first call for a model."""
    if model in _ready:
        return
    from .sentiment import get_analyzer
    from .transform import prepare_row

    lazy_zip_invalidation()
    ack_task_header()  # the first call finds the JVM's socket: before any socket of ours
    get_analyzer(model)
    prepare_row(b"{}")
    gc.collect()  # what import and load left as garbage is not worth freezing
    gc.freeze()
    _ready.add(model)


def lazy_zip_invalidation() -> bool:
    """Make `zipimporter.invalidate_caches` re-read an archive only when it changed on disk
    (size or mtime). Idempotent; returns whether this call patched (False on Python ≥ 3.12
    or when already done).

    pyspark's worker calls `importlib.invalidate_caches()` before each task
    (`setup_spark_files`). On Python 3.10 and 3.11 every `zipimporter` then re-reads its
    archive's whole directory, and Spark puts pyspark.zip (1,200 entries) and the spark-core
    jar (5,200) on the worker's path, with one importer per imported sub-package: 60 ms per
    task on an idle core, 150 ms under load. Python 3.12 made the invalidation lazy (CPython
    gh-103200); the job's image runs 3.10 (Spark's base) or 3.11.
    """
    if sys.version_info >= (3, 12):
        return False
    import zipimport

    original = zipimport.zipimporter.invalidate_caches
    if getattr(original, _PATCHED, False):
        return False

    def invalidate_caches(self: Any) -> None:
        try:
            info = os.stat(self.archive)
        except OSError:
            original(self)
            return
        stamp = (info.st_mtime_ns, info.st_size)
        # Each importer keeps its own copy of the directory, so the stamp is per importer.
        if getattr(self, "_tweet_sentiment_stamp", None) != stamp:
            original(self)
            self._tweet_sentiment_stamp = stamp

    setattr(invalidate_caches, _PATCHED, True)
    zipimport.zipimporter.invalidate_caches = invalidate_caches  # type: ignore[method-assign]
    return True
