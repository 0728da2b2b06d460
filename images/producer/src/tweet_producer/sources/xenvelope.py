"""Parsing of X API v2 stream lines, shared by the X stream and replay sources."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from tweet_producer.events import Post, Skipped, decode_json, post_from_x, stream_error_types
from tweet_producer.metrics import Metrics

log = logging.getLogger(__name__)
T = TypeVar("T")


def x_line_parser(source: str, metrics: Metrics) -> Callable[[bytes], Post | Skipped | None]:
    """A parse function for parse_line(): a post, or None after counting an error message.

    `{"errors": [...]}` lines (operational-disconnect and friends) are X telling us
    something about the stream; they are logged and counted, never published.
    """
    return x_stream_parser(source, metrics, lambda doc: post_from_x(doc, source))


def x_stream_parser(
    source: str, metrics: Metrics, convert: Callable[[object], T]
) -> Callable[[bytes], T | None]:
    """Any X v2 stream's line: `convert` the decoded document, or None after counting and
    logging a `{"errors": [...]}` message (the posts stream and the compliance streams)."""

    def parse(data: bytes) -> T | None:
        doc = decode_json(data)
        error_types = stream_error_types(doc)
        if error_types is not None:
            for kind in error_types:
                metrics.stream_error(kind)
            log.warning("stream error message from %s: %s", source, data[:500].decode("utf-8", "replace"))
            return None
        return convert(doc)

    return parse
