"""A local stand-in for api.x.com that speaks the v2 streaming wire format.

The only fake the team allows: X is an external paid API. It serves
- GET /2/tweets/sample/stream and /2/tweets/search/stream: each connection plays the next
  scripted behaviour: a 200 with a chunked NDJSON body (posts, `\\r\\n` keep-alives, error
  lines, stalls, a reset or a clean end), an HTTP error with X's headers and problem
  JSON, or a connection reset before any response;
- GET/POST /2/tweets/search/stream/rules with X's request and response shapes;
- GET /2/tweets/compliance/stream and /2/users/compliance/stream?partition=N: the next
  behaviour scripted for that (path, partition) in `compliance`, else a connection held open
  with keep-alives until the server stops.
Every request is recorded so tests can assert what the client sent.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

KEEPALIVE = b"\r\n"
OPERATIONAL_DISCONNECT = {
    "errors": [
        {
            "title": "operational-disconnect",
            "disconnect_type": "UpstreamOperationalDisconnect",
            "detail": "This stream has been disconnected upstream for operational reasons.",
            "type": "https://api.twitter.com/2/problems/operational-disconnect",
        }
    ]
}
PROBLEMS = {
    401: {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
    403: {
        "client_id": "1",
        "reason": "client-not-enrolled",
        "title": "Client Forbidden",
        "type": "https://api.twitter.com/2/problems/client-forbidden",
        "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project.",
    },
    429: {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
    503: {
        "title": "Service Unavailable",
        "detail": "Service Unavailable",
        "type": "about:blank",
        "status": 503,
    },
}


def tweet(post_id: str, text: str = "", **extra: Any) -> dict[str, Any]:
    data = {
        "id": post_id,
        "text": text or f"post number {post_id} 🙂",
        "lang": "en",
        "created_at": "2026-11-20T10:00:00.000Z",
        "author_id": "12345",
        "edit_history_tweet_ids": [post_id],
    }
    data.update(extra)
    return {"data": data, "matching_rules": [{"id": "1", "tag": "t"}]}


def line(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode() + b"\r\n"


@dataclass
class Stall:
    """Hold the connection open without sending a byte (until the client leaves or `seconds`)."""

    seconds: float = 10.0


@dataclass
class WaitSeen:
    """Wait until the test reports it received this post id (so what follows is ordered after it)."""

    post_id: str
    timeout: float = 10.0


@dataclass
class Stream:
    """A 200 response with a chunked body; `end` is "close" (clean end) or "reset" (TCP RST)."""

    parts: list[bytes | Stall | WaitSeen]
    end: str = "close"


@dataclass
class Status:
    code: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ResetBeforeResponse:
    """Read the request, then reset the connection: a network error before any status."""


Behaviour = Stream | Status | ResetBeforeResponse


class FakeX:
    def __init__(
        self, script: list[Behaviour] | None = None, rules: list[dict[str, Any]] | None = None
    ) -> None:
        self.script: deque[Behaviour] = deque(script or [])
        self.requests: list[dict[str, Any]] = []
        self.rules: dict[str, dict[str, Any]] = {r["id"]: dict(r) for r in rules or []}
        # Statuses the rules endpoint answers first (e.g. [503, 429]) before working normally.
        self.rules_failures: deque[Status] = deque()
        # (path, partition) -> behaviours of the compliance streams' connections, in order.
        self.compliance: dict[tuple[str, int], deque[Behaviour]] = {}
        self._next_rule_id = 1000
        self._seen: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self.released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def seen(self, post_id: str) -> None:
        self._seen_event(post_id).set()

    def _seen_event(self, post_id: str) -> threading.Event:
        with self._lock:
            return self._seen.setdefault(post_id, threading.Event())

    def stream_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/stream")]

    def close(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    # -- rules ---------------------------------------------------------------------------

    def rules_get(self) -> dict[str, Any]:
        data = sorted(self.rules.values(), key=lambda r: r["id"])
        doc: dict[str, Any] = {"meta": {"sent": "2026-11-20T10:00:00.000Z", "result_count": len(data)}}
        if data:
            doc["data"] = data
        return doc

    def rules_post(self, body: dict[str, Any]) -> dict[str, Any]:
        sent = "2026-11-20T10:00:00.000Z"
        if "delete" in body:
            ids = body["delete"]["ids"]
            deleted = [i for i in ids if self.rules.pop(i, None) is not None]
            return {
                "meta": {
                    "sent": sent,
                    "summary": {"deleted": len(deleted), "not_deleted": len(ids) - len(deleted)},
                }
            }
        created, errors = [], []
        for rule in body["add"]:
            if "INVALID(" in rule["value"]:
                errors.append(
                    {
                        "value": rule["value"],
                        "details": ["Rules must contain a non-stopword."],
                        "title": "Invalid Rule",
                        "type": "https://api.twitter.com/2/problems/invalid-rules",
                    }
                )
                continue
            self._next_rule_id += 1
            new = {"id": str(self._next_rule_id), "value": rule["value"]}
            if "tag" in rule:
                new["tag"] = rule["tag"]
            self.rules[new["id"]] = new
            created.append(new)
        summary = {
            "created": len(created),
            "not_created": len(errors),
            "valid": len(created),
            "invalid": len(errors),
        }
        doc: dict[str, Any] = {"meta": {"sent": sent, "summary": summary}}
        if created:
            doc["data"] = created
        if errors:
            doc["errors"] = errors
        return doc


def _handler(fake: FakeX) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def finish(self) -> None:
            # The client may have gone (stall, reset): nothing left to flush to.
            with contextlib.suppress(OSError, ValueError):
                super().finish()

        def _record(self, body: Any = None) -> dict[str, Any]:
            parts = urlsplit(self.path)
            entry = {
                "method": self.command,
                "path": parts.path,
                "query": parse_qs(parts.query),
                "headers": dict(self.headers.items()),
                "body": body,
            }
            fake.requests.append(entry)
            return entry

        def _json(self, code: int, doc: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            body = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def _reset(self) -> None:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True

        def do_GET(self) -> None:
            entry = self._record()
            if entry["path"] == "/2/tweets/search/stream/rules" and fake.rules_failures:
                failure = fake.rules_failures.popleft()
                self._json(
                    failure.code, PROBLEMS.get(failure.code, {"status": failure.code}), failure.headers
                )
            elif entry["path"] == "/2/tweets/search/stream/rules":
                self._json(200, fake.rules_get())
            elif entry["path"] in ("/2/tweets/sample/stream", "/2/tweets/search/stream"):
                self._stream()
            elif entry["path"] in ("/2/tweets/compliance/stream", "/2/users/compliance/stream"):
                partition = int(entry["query"].get("partition", ["0"])[0])
                script = fake.compliance.get((entry["path"], partition))
                self._stream(script.popleft() if script else Stream([KEEPALIVE, Stall(30)]))
            else:
                self._json(404, {"title": "Not Found Error", "type": "about:blank", "status": 404})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            entry = self._record(body)
            if entry["path"] == "/2/tweets/search/stream/rules":
                self._json(200, fake.rules_post(body))
            else:
                self._json(404, {"title": "Not Found Error", "type": "about:blank", "status": 404})

        def _stream(self, behaviour: Behaviour | None = None) -> None:
            if behaviour is None:
                behaviour = fake.script.popleft() if fake.script else Status(401)
            if isinstance(behaviour, ResetBeforeResponse):
                self._reset()
                return
            if isinstance(behaviour, Status):
                self._json(
                    behaviour.code,
                    PROBLEMS.get(behaviour.code, {"status": behaviour.code}),
                    behaviour.headers,
                )
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for part in behaviour.parts:
                    if isinstance(part, Stall):
                        fake.released.wait(part.seconds)
                    elif isinstance(part, WaitSeen):
                        fake._seen_event(part.post_id).wait(part.timeout)
                    else:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                        self.wfile.flush()
                if behaviour.end == "reset":
                    self._reset()
                else:
                    self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass

    return Handler
