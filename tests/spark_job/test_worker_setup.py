"""The Python worker's set-up (`sentiment_job.worker_setup`): what it changes, in fresh
interpreters (it patches process-wide state), and in a real pyspark worker."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import pandas as pd


def run_python(code: str, timeout: float = 120) -> dict[str, object]:
    """Run `code` in a fresh interpreter of this venv; it prints one JSON line last."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="Python 3.12+ invalidates zip caches lazily itself")
def test_zip_directory_is_read_again_only_when_the_archive_changed() -> None:
    out = run_python(
        """
        import importlib, json, os, sys, tempfile, zipfile
        from sentiment_job.worker_setup import lazy_zip_invalidation

        archive = os.path.join(tempfile.mkdtemp(), "lib.zip")
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("mod_a.py", "A = 1")
        sys.path.insert(0, archive)
        import mod_a
        importer = sys.path_importer_cache[archive]
        before = importer._files
        importlib.invalidate_caches()
        reread_unpatched = importer._files is not before
        first, again = lazy_zip_invalidation(), lazy_zip_invalidation()
        importlib.invalidate_caches()  # the first call under the patch reads once more
        files = importer._files
        importlib.invalidate_caches()
        reread_unchanged = importer._files is not files
        with zipfile.ZipFile(archive, "a") as z:
            z.writestr("mod_b.py", "B = 2")
        importlib.invalidate_caches()
        import mod_b
        print(json.dumps({"unpatched": reread_unpatched, "patched": [first, again],
                          "unchanged": reread_unchanged, "b": mod_b.B}))
        """
    )
    # Without the patch every invalidation re-reads the directory (the per-task cost) ...
    assert out["unpatched"] is True
    assert out["patched"] == [True, False]
    # ... with it, an unchanged archive is not read again, and a changed one is.
    assert out["unchanged"] is False
    assert out["b"] == 2


def test_task_socket_is_the_one_connection_of_the_process() -> None:
    """The lookup finds a process's only TCP connection (held under two descriptors, as
    pyspark holds its socket to the JVM), and refuses to guess when there are two."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        out = run_python(
            f"""
            import json, socket
            from sentiment_job import worker_setup

            conn = socket.create_connection(("127.0.0.1", {port}))
            dup = conn.dup()
            found = worker_setup._find_task_socket()
            one = found is not None and found.getpeername() == conn.getpeername()
            found is not None and found.close()
            other = socket.create_connection(("127.0.0.1", {port}))
            print(json.dumps({{"one": one, "two": worker_setup._find_task_socket() is None}}))
            """
        )
    assert out == {"one": True, "two": True}


def test_a_pyspark_worker_is_prepared(spark: Any) -> None:
    """In a real Python worker: the JVM's socket is found, what is loaded is frozen out of
    the collector's sight, and the zip importers are patched (Python < 3.12)."""

    def probe(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import gc
        import zipimport

        import pandas as pd

        from sentiment_job import worker_setup

        worker_setup.prepare_worker("vader")
        worker_setup.ack_task_header()
        for _ in frames:
            pass
        yield pd.DataFrame(
            {
                "socket": [worker_setup.task_socket() is not None],
                "frozen": [gc.get_freeze_count()],
                "patched": [getattr(zipimport.zipimporter.invalidate_caches, "_tweet_sentiment_lazy", False)],
            }
        )

    rows = (
        spark.range(2, numPartitions=2)
        .mapInPandas(probe, "socket BOOLEAN, frozen BIGINT, patched BOOLEAN")
        .collect()
    )
    assert len(rows) == 2
    for row in rows:
        assert row["socket"] is True
        # What pandas, pyspark and VADER leave: ~95k objects the collector no longer walks.
        assert row["frozen"] > 50_000
        assert row["patched"] is (sys.version_info < (3, 12))
