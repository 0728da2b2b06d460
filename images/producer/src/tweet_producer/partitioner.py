"""Key → partition exactly as Kafka's Java client and kafka-python choose it (murmur2),
computed with a quarter of the Python operations.

kafka-python's murmur2 indexes the key byte by byte; at thousands of posts a second that
is a noticeable share of a send(). This one reads the key four bytes at a time with
struct and gives the same hash (tests/producer check it against kafka-python's own), so a
post lands in the partition any Kafka client would put its key in.
"""

from __future__ import annotations

import struct
from typing import Any

from kafka.partitioner import DefaultPartitioner, Partitioner

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF
_SEED = 0x9747B28C


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as an unsigned 32-bit int."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    words = length >> 2
    for k in struct.unpack_from(f"<{words}I", data):
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & 3
    if tail:
        base = words << 2
        if tail == 3:
            h ^= data[base + 2] << 16
        if tail >= 2:
            h ^= data[base + 1] << 8
        h ^= data[base]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def partition_for(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class KeyPartitioner(Partitioner):  # type: ignore[misc]  # kafka-python is untyped: its base is Any
    """Keyed records by murmur2 (as DefaultPartitioner); unkeyed ones (dead letters) as
    DefaultPartitioner does, at random."""

    def __init__(self) -> None:
        self._unkeyed = DefaultPartitioner()

    def partition(
        self,
        topic: str,
        key: Any,
        serialized_key: bytes | None,
        value: Any,
        serialized_value: Any,
        cluster: Any,
    ) -> int:
        if serialized_key is None:
            return int(self._unkeyed.partition(topic, key, serialized_key, value, serialized_value, cluster))
        partitions = cluster.partitions_for_topic(topic)
        if not partitions:
            raise ValueError(f"Topic {topic} not found in ClusterMetadata")
        ordered = sorted(partitions)
        return int(ordered[partition_for(serialized_key, len(ordered))])
