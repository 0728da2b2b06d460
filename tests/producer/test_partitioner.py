"""Our murmur2 is Kafka's: same hash, so the same key → partition mapping as any client."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from kafka.partitioner.default import murmur2 as kafka_murmur2

from tweet_producer.partitioner import murmur2, partition_for


@given(st.binary(max_size=200))
def test_murmur2_matches_kafka_python(data: bytes) -> None:
    assert murmur2(data) == kafka_murmur2(data)


def test_known_java_client_values() -> None:
    # org.apache.kafka.common.utils.UtilsTest#testMurmur2 (as unsigned 32-bit values).
    cases = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    for data, signed in cases.items():
        assert murmur2(data) == signed & 0xFFFFFFFF


@given(st.binary(min_size=1, max_size=100), st.integers(min_value=1, max_value=64))
def test_partition_is_kafkas_choice(key: bytes, partitions: int) -> None:
    assert partition_for(key, partitions) == (kafka_murmur2(key) & 0x7FFFFFFF) % partitions
