"""A local Bluesky Jetstream: a real WebSocket server (the `websockets` package) that plays
scripted JSON events, one script per connection, and records each connection's path
(so tests see the `cursor=` and `wantedCollections=` the client asked for); and
`JetstreamFeed`, a long paced stream that honours `cursor=` and drops connections mid-stream."""

from __future__ import annotations

import bisect
import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

DID = "did:plc:eygmaihciaxprqvxpfvl6flk"


def post_create(
    time_us: int, rkey: str, text: str, langs: list[str] | None = None, **record: Any
) -> dict[str, Any]:
    body = {"$type": "app.bsky.feed.post", "createdAt": "2026-11-20T10:00:00.000Z", "text": text}
    if langs is not None:
        body["langs"] = langs
    body.update(record)
    return {
        "did": DID,
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": "3l3qo2vutsw2b",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
            "record": body,
            "cid": "bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi",
        },
    }


def post_update(time_us: int, rkey: str, text: str) -> dict[str, Any]:
    event = post_create(time_us, rkey, text, ["en"])
    event["commit"]["operation"] = "update"
    return event


def post_delete(time_us: int, rkey: str) -> dict[str, Any]:
    return {
        "did": DID,
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": "3l3f6nzl3cv2s",
            "operation": "delete",
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
        },
    }


def identity(time_us: int) -> dict[str, Any]:
    return {
        "did": DID,
        "time_us": time_us,
        "kind": "identity",
        "identity": {
            "did": DID,
            "handle": "someone.bsky.social",
            "seq": 1409752997,
            "time": "2024-09-05T06:11:04.870Z",
        },
    }


def account(time_us: int) -> dict[str, Any]:
    return {
        "did": DID,
        "time_us": time_us,
        "kind": "account",
        "account": {"active": True, "did": DID, "seq": 1409753013, "time": "2024-09-05T06:11:04.870Z"},
    }


@dataclass
class Connection:
    """What one client connection gets: these messages (dicts are JSON-encoded), then a
    normal close, or (hold=True) an open connection until the server stops."""

    messages: list[dict[str, Any] | str] = field(default_factory=list)
    hold: bool = False


class FakeJetstream:
    def __init__(self, script: list[Connection]) -> None:
        self.script: deque[Connection] = deque(script)
        self.paths: list[str] = []
        self.released = threading.Event()
        self._server = serve(self._handle, "127.0.0.1", 0, compression=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/subscribe"

    def queries(self) -> list[dict[str, list[str]]]:
        return [parse_qs(urlsplit(p).query) for p in self.paths]

    def _handle(self, conn: ServerConnection) -> None:
        assert conn.request is not None
        self.paths.append(conn.request.path)
        plan = self.script.popleft() if self.script else Connection(hold=True)
        for message in plan.messages:
            conn.send(message if isinstance(message, str) else json.dumps(message))
        if plan.hold:
            self.released.wait(30)
        conn.close()

    def close(self) -> None:
        self.released.set()
        self._server.shutdown()


class JetstreamFeed:
    """A Jetstream that plays one long stream of events at `rate` events/s, as the real one
        does: a connection starts at the first event whose `time_us` is at or after its `cursor=`
        (the start without one), and after the last post it sends an account event a second
    (not a post: nothing to publish, but the cursor moves on). After each
        count of events sent in `drop_after` it drops the connection abruptly (TCP shutdown, no
        close frame), as a network failure or a relay restart does; the client must come back
        with the cursor of the last event it read."""

    def __init__(self, events: list[dict[str, Any]], rate: float, drop_after: Sequence[int] = ()) -> None:
        self.events = [json.dumps(e) for e in events]
        self.times = [int(e["time_us"]) for e in events]
        self.rate = rate
        self.drops = deque(sorted(drop_after))
        self.sent = 0  # events sent over all connections (replays after a cursor included)
        self.dropped = 0
        self.drop_times: list[float] = []  # time.monotonic() of each drop
        self.finished_at: float | None = None  # time.monotonic() the last post was first sent
        self.paths: list[str] = []
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._server = serve(self._handle, "127.0.0.1", 0, compression=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/subscribe"

    def cursors(self) -> list[int | None]:
        """The `cursor=` of each connection, in order (None: it started without one)."""
        out: list[int | None] = []
        for path in self.paths:
            values = parse_qs(urlsplit(path).query).get("cursor")
            out.append(int(values[0]) if values else None)
        return out

    def _start(self, path: str) -> int:
        values = parse_qs(urlsplit(path).query).get("cursor")
        if not values:
            return 0
        return bisect.bisect_left(self.times, int(values[0]))

    def _handle(self, conn: ServerConnection) -> None:
        assert conn.request is not None
        self.paths.append(conn.request.path)
        position = self._start(conn.request.path)
        began = time.monotonic()
        start = position
        try:
            while position < len(self.events) and not self.stopped.is_set():
                due = start + int((time.monotonic() - began) * self.rate) + 1
                while position < min(due, len(self.events)):
                    with self._lock:
                        if self.drops and self.sent >= self.drops[0]:
                            self.drops.popleft()
                            self.dropped += 1
                            self.drop_times.append(time.monotonic())
                            conn.socket.shutdown(socket.SHUT_RDWR)
                            return
                        self.sent += 1
                    conn.send(self.events[position])
                    position += 1
                    if position == len(self.events) and self.finished_at is None:
                        self.finished_at = time.monotonic()
                time.sleep(0.005)
            # The real stream is never quiet (a quiet one is taken for stalled): after the last
            # post, an account event a second, each later than the last post.
            beat = self.times[-1] if self.times else 0
            while not self.stopped.wait(1.0):
                beat += 1
                conn.send(json.dumps(account(beat)))
        except ConnectionClosed:
            return  # the client went away (it stopped or was killed)
        with contextlib.suppress(Exception):
            conn.close()

    def close(self) -> None:
        self.stopped.set()
        self._server.shutdown()
