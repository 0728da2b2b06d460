"""Sources of posts, one module each, behind one interface (base.Source), chosen by SOURCE."""

from __future__ import annotations

from tweet_producer.metrics import Metrics
from tweet_producer.settings import Settings, SourceKind
from tweet_producer.sources.base import FatalSourceError, Item, Source

__all__ = ["FatalSourceError", "Item", "Source", "build_source", "event_source_name"]

_EVENT_SOURCE = {
    SourceKind.X_SAMPLE: "x",
    SourceKind.X_FILTERED: "x",
    SourceKind.X_COMPLIANCE: "x",
    SourceKind.BLUESKY: "bluesky",
    SourceKind.REPLAY: "replay",
    SourceKind.SYNTHETIC: "synthetic",
}


def event_source_name(kind: SourceKind) -> str:
    """The `source` value (and metric label) of the events a SOURCE setting produces."""
    return _EVENT_SOURCE[kind]


def build_source(settings: Settings, metrics: Metrics) -> Source:
    # Imports are local so a replay run never imports websockets or requests.
    kind = settings.source
    if kind in (SourceKind.X_SAMPLE, SourceKind.X_FILTERED):
        from tweet_producer.sources.x import XStreamSource

        assert settings.x_bearer_token is not None  # settings checked it
        return XStreamSource(
            base_url=settings.x_api_base_url,
            token=settings.x_bearer_token.get_secret_value(),
            filtered=kind is SourceKind.X_FILTERED,
            rules=settings.rules,
            stall_timeout=settings.x_stall_timeout_seconds,
            max_post_bytes=settings.max_post_bytes,
            metrics=metrics,
        )
    if kind is SourceKind.X_COMPLIANCE:
        from tweet_producer.sources.x_compliance import XComplianceSource

        assert settings.x_bearer_token is not None  # settings checked it
        return XComplianceSource(
            base_url=settings.x_api_base_url,
            token=settings.x_bearer_token.get_secret_value(),
            stall_timeout=settings.x_stall_timeout_seconds,
            max_post_bytes=settings.max_post_bytes,
            metrics=metrics,
        )
    if kind is SourceKind.BLUESKY:
        from tweet_producer.sources.bluesky import JetstreamSource

        return JetstreamSource(
            url=settings.jetstream_url,
            cursor_file=settings.jetstream_cursor_file,
            max_post_bytes=settings.max_post_bytes,
            metrics=metrics,
        )
    if kind is SourceKind.SYNTHETIC:
        from tweet_producer.sources.synthetic import SyntheticSource

        return SyntheticSource(
            rate=settings.synthetic_rate,
            seed=settings.synthetic_seed,
            limit=settings.synthetic_limit,
            metrics=metrics,
        )
    from tweet_producer.sources.replay import ReplaySource

    assert settings.replay_file is not None  # settings resolved the default
    return ReplaySource(
        path=settings.replay_file,
        rate=settings.replay_rate,
        loop=settings.replay_loop,
        max_post_bytes=settings.max_post_bytes,
        metrics=metrics,
    )
