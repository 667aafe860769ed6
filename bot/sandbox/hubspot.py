"""A small stand-in for HubSpot's CRM v3 API (`GET /crm/v3/objects/{contacts|deals}`), for tests and
the demo: HubSpot's shapes (`results`, `paging.next.after`, its error bodies), a private app's bearer
token, a page size capped at 100, and 429s or 5xx on demand."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_LIMIT = 100


@dataclass
class HubSpotRequest:
    path: str
    query: dict[str, str]
    status: int


@dataclass
class HubSpotSandbox:
    token: str = "pat-eu1-sandbox-token"
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {"contacts": [], "deals": []})
    requests: list[HubSpotRequest] = field(default_factory=list)
    _failures: dict[int, tuple[int, str | None]] = field(default_factory=dict)
    _received: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, object_type: str, object_id: str, **properties: Any) -> None:
        """An object as HubSpot holds it; `properties` are strings, as HubSpot returns them."""
        stamp = properties.get("createdate") or "2026-01-01T00:00:00.000Z"
        self.objects[object_type].append(
            {
                "id": object_id,
                "properties": {"hs_object_id": object_id, **properties},
                "createdAt": stamp,
                "updatedAt": stamp,
                "archived": False,
            }
        )

    def fail_request(self, number: int, status: int = 429, retry_after: str | None = None) -> None:
        """The `number`th request (counting from 1) is answered with `status`; a 429 carries HubSpot's
        rate-limit body and, when given, a Retry-After header."""
        with self._lock:
            self._failures[number] = (status, retry_after)

    # ----- serving -----------------------------------------------------------------------------------

    def start(self) -> HubSpotSandbox:
        sandbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body, headers = sandbox.answer(self.path, dict(self.headers.items()))
                payload = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Silenced."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> HubSpotSandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the HubSpot sandbox first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, raw_path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        url = urlsplit(raw_path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        status, body, extra = self._answer(url.path, query, headers)
        with self._lock:
            self.requests.append(HubSpotRequest(url.path, query, status))
        return status, body, extra

    def _answer(
        self, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            self._received += 1
            failure = self._failures.pop(self._received, None)
        if failure is not None:
            status, retry_after = failure
            extra = {"Retry-After": retry_after} if retry_after else {}
            if status == 429:
                return 429, _error("You have reached your secondly limit.", "RATE_LIMITS", "SECONDLY"), extra
            return status, _error("Internal error", "INTERNAL_ERROR"), extra
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, _error("Authentication credentials not found.", "INVALID_AUTHENTICATION"), {}
        object_type = path.removeprefix("/crm/v3/objects/")
        if not path.startswith("/crm/v3/objects/") or object_type not in self.objects:
            return 404, _error(f"Unable to infer object type from: {object_type}", "OBJECT_NOT_FOUND"), {}
        try:
            limit = min(int(query.get("limit", "10")), MAX_LIMIT)
            start = int(query.get("after", "0"))
        except ValueError:
            return 400, _error("Invalid input", "VALIDATION_ERROR"), {}
        wanted = set(query["properties"].split(",")) if query.get("properties") else None
        page = self.objects[object_type][start : start + limit]
        results = [{**obj, "properties": _only(obj["properties"], wanted)} for obj in page]
        body: dict[str, Any] = {"results": results}
        if start + limit < len(self.objects[object_type]):
            after = str(start + limit)
            body["paging"] = {"next": {"after": after, "link": f"{self.url}{path}?after={after}"}}
        return 200, body, {}


def _only(properties: dict[str, Any], wanted: set[str] | None) -> dict[str, Any]:
    return {key: value for key, value in properties.items() if wanted is None or key in wanted}


def _error(message: str, category: str, policy: str | None = None) -> dict[str, Any]:
    body = {"status": "error", "message": message, "correlationId": "00000000-0000-4000-8000-000000000000"}
    body["category" if policy is None else "errorType"] = category
    if policy:
        body["policyName"] = policy
    return body
