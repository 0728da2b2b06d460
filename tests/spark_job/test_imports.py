"""What runs on plain python3 in the job image (no Spark on the path) imports without pyspark.

The chart's Elasticsearch setup hook (`tweet-sentiment-setup-es`) and `tweet-sentiment stats`
run the image's python3 directly, not through spark-submit, so pyspark is not importable
there; only the job itself (`sentiment_job.job`, under spark-submit) may need it at import.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

BLOCK_PYSPARK = """
import sys
class NoSpark:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pyspark", "py4j"):
            raise ImportError(f"{name} is not on this python's path (as in the image without spark-submit)")
sys.meta_path.insert(0, NoSpark())
"""


@pytest.mark.parametrize(
    "module",
    ["sentiment_job.es_setup", "sentiment_job.cli", "sentiment_job.evaluate", "sentiment_job.sink"],
)
def test_console_scripts_outside_spark_submit_import_without_pyspark(module: str) -> None:
    # The sink too: the setup hook imports it for its backoff when Elasticsearch is not up yet.
    code = BLOCK_PYSPARK + f"import {module}\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_the_blocker_can_fail() -> None:
    code = BLOCK_PYSPARK + "import sentiment_job.job\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "not on this python's path" in proc.stderr
