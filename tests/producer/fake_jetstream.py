"""A local Bluesky Jetstream: a real WebSocket server (the `websockets` package) that plays
scripted JSON events, one script per connection, and records each connection's path
(so tests see the `cursor=` and `wantedCollections=` the client asked for)."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
