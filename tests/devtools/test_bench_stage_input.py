"""The stage benchmark's input (`devtools.bench.stage`): equal partitions, one per core, or
an error. A hash-partitioned input once put every row on one core of two, and the report
compared that with a 2-core ceiling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devtools.bench.stage import make_events, read_balanced, write_parquet


def test_stage_input_is_one_equal_partition_per_core(spark: Any, tmp_path: Path) -> None:
    events = make_events(300)
    write_parquet(spark, events, tmp_path / "posts.parquet", 2)
    df = read_balanced(spark, tmp_path / "posts.parquet", 2)
    sizes = df.rdd.glom().map(len).collect()
    assert sizes == [150, 150]
    # Each partition holds one Kafka partition's records, in offset order.
    assert df.where("partition = 0").count() == 150


def test_unequal_stage_input_is_refused(spark: Any, tmp_path: Path) -> None:
    events = make_events(300)
    # Everything in one file: the shape the old hash-partitioned input could take.
    write_parquet(spark, events, tmp_path / "one.parquet", 1)
    with pytest.raises(RuntimeError, match="not 2 equal partitions"):
        read_balanced(spark, tmp_path / "one.parquet", 2)
