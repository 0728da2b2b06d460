"""How long Kafka keeps a post's text: the topics' retention, and the bound it gives.

A deletion removes a post from Elasticsearch (the document and the job's dead letters), but
Kafka's log is append-only: the post's event, with its text, stays in the posts topic until
retention deletes the log segment holding it, and a record the producer dead-lettered stays
in the dead-letter topic the same way. Kafka deletes a segment only when its *newest* record
is older than `retention.ms`, and the active segment is closed after `segment.ms`; the broker
looks every `log.retention.check.interval.ms` (Kafka's default, 5 minutes). So a record
written at time t is gone by t + segment.ms + retention.ms + the check interval.

These values are the one source for the Strimzi `KafkaTopic`s (k8s/strimzi), the chart's
`kafka.topics` defaults and the local topics (devtools); tests/charts/test_retention.py checks
that they agree. docs/deletions.md says what is deleted, when, and what remains.
"""

from __future__ import annotations

HOUR_MS = 3_600_000
# 23 hours: with the segment and the check interval below, every byte of a post is gone from
# Kafka within 24 hours of its publication (so within 24 hours of any deletion of it).
RETENTION_MS = 23 * HOUR_MS
# Kafka's default is 7 days, which would add up to a week to the bound.
SEGMENT_MS = HOUR_MS // 2
# Kafka's default `log.retention.check.interval.ms` (the broker setting; not per topic).
RETENTION_CHECK_INTERVAL_MS = 5 * 60_000

# The topic-level configs of both topics (posts and the producer's dead letters).
TOPIC_CONFIGS: dict[str, str] = {
    "retention.ms": str(RETENTION_MS),
    "segment.ms": str(SEGMENT_MS),
    "cleanup.policy": "delete",
}


def forget_bound_ms(
    retention_ms: int = RETENTION_MS,
    segment_ms: int = SEGMENT_MS,
    check_interval_ms: int = RETENTION_CHECK_INTERVAL_MS,
) -> int:
    """The longest a record stays in a topic after it was written: its segment may stay open
    for `segment_ms`, is then kept `retention_ms` after its newest record, and is deleted at
    the broker's next retention check."""
    return segment_ms + retention_ms + check_interval_ms


# The bound the docs state: 24 hours from publication.
FORGET_BOUND_MS = 24 * HOUR_MS
assert forget_bound_ms() <= FORGET_BOUND_MS
