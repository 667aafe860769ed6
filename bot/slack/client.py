"""The Web API clients every Slack call goes through: `build_client`'s waits out 429s and retries
what is safe to retry; `PooledSlack` keeps many of the outbox's calls in flight, paced."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.slack.pacing import Pacer

if TYPE_CHECKING:
    import aiohttp

logger = logging.getLogger(__name__)

#: Methods that must not be sent twice: after a dropped connection Slack may already have acted.
NOT_IDEMPOTENT = ("chat.postMessage", "chat.postEphemeral", "files.completeUploadExternal")


class _SparingPosts:
    """Leaves calls that post a message to the caller: a dropped connection or a 5xx may come
    after Slack already posted, and slack_sdk's handlers would post it again. Scheduled posts
    look such messages up by their metadata instead (see `bot.slack.outbox`)."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        if request.url.rstrip("/").rsplit("/", 1)[-1] in NOT_IDEMPOTENT:
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


class SafeConnectionErrorRetryHandler(_SparingPosts, ConnectionErrorRetryHandler):
    """Retries dropped connections, except for posts."""


class SafeServerErrorRetryHandler(_SparingPosts, ServerErrorRetryHandler):
    """Retries Slack's 5xx answers, except for posts."""


def build_client(
    token: str | None, api_url: str, timeout: int = 30, observer: RetryHandler | None = None
) -> WebClient:
    """A Web API client that waits out 429s and retries 5xx and (safely) dropped connections.

    Bolt copies these retry handlers into the client each request gets, so listeners
    inherit them; they sleep inside the call, which is why nothing rate-limited runs
    before `ack()`. An `observer` goes first and sees every attempt (for the metrics).
    """
    return WebClient(
        token=token,
        base_url=api_url,
        timeout=timeout,
        retry_handlers=[
            *([observer] if observer else []),
            SafeConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=5),
            SafeServerErrorRetryHandler(max_retry_count=3),
        ],
    )


def channel_members(client: WebClient, channel: str) -> list[str]:
    """Everyone in a channel, page by page; whoever Slack would not list (with a warning) is left out."""
    members: list[str] = []
    try:
        for page in client.conversations_members(channel=channel, limit=200):
            members += page["members"]
    except SlackApiError as error:
        logger.warning("conversations.members %s failed: %s", channel, error.response.get("error"))
    return members


# ----- many calls in flight: the outbox's transport ----------------------------------------------

#: Slack's ways of saying "slow down": HTTP 429 `ratelimited`, and chat.postMessage's `rate_limited`.
RATE_LIMITED = frozenset({"ratelimited", "rate_limited"})
#: Seconds a call may spend waiting out Slack's rate-limit answers before it is handed back: well
#: within the outbox's lease on a claim (`bot.slack.outbox.STALE_AFTER`).
RATE_LIMIT_WAIT_BUDGET = 60.0
#: Methods whose arguments go as JSON (Slack reads the others form-encoded).
JSON_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral", "views.publish"})


class SharedJson(dict):
    """Arguments many calls share (a round's message: nothing in it names its person), encoded as JSON
    once for all of them (see `with_shared`)."""

    @cached_property
    def members_json(self) -> str:
        """Its members as JSON, without the braces around them."""
        return json.dumps(self)[1:-1]


class Arguments(dict):
    """A call's arguments: its own, and a `SharedJson` many calls share (`with_shared`)."""

    own: dict[str, Any]
    shared: SharedJson | None


def with_shared(own: Mapping[str, Any], shared: Mapping[str, Any]) -> Arguments:
    """`own` and `shared` as one mapping of arguments; a `SharedJson` part is encoded once, however many
    calls carry it, when their arguments go as JSON."""
    arguments = Arguments({**own, **shared})
    arguments.own = dict(own)
    arguments.shared = shared if isinstance(shared, SharedJson) and shared.keys().isdisjoint(own) else None
    return arguments


def json_body(params: Mapping[str, Any]) -> str:
    """The arguments as a JSON object; a shared part is not encoded again."""
    if isinstance(params, Arguments) and params.shared is not None:
        own = json.dumps(params.own)
        return own[:-1] + ("," if params.own and params.shared else "") + params.shared.members_json + "}"
    return json.dumps(params)


@dataclass(frozen=True)
class Answer:
    """What Slack answered one call: the HTTP status and the JSON body. `status` None: no answer came
    after the request went out (a dropped connection, a timeout), so Slack may have acted on it."""

    status: int | None
    body: Mapping[str, Any]
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.body.get("ok"))

    @property
    def error(self) -> str:
        if self.status is None:
            return str(self.body.get("error") or "no_answer")
        return str(self.body.get("error") or f"http_{self.status}")[:64]

    @property
    def rate_limited(self) -> bool:
        return self.status == 429 or self.error in RATE_LIMITED


class Transport(Protocol):
    """How the outbox calls Slack: a call in flight, its answer in a future."""

    def call(self, team_id: str, method: str, params: Mapping[str, Any]) -> Future[Answer]: ...


class PooledSlack:
    """Web API calls from one event loop (a daemon thread) over one aiohttp session: pooled,
    kept-alive connections, as many calls in flight as the pacer lets through.

    A workspace's token is read once (`credentials`, which may read the database and refresh it) and
    kept until `reread_credentials`: the outbox asks for that when a send begins and every
    `CREDENTIALS_EVERY` seconds of a long one, so a token refreshed, revoked or reinstalled since is
    seen soon, and a send costs a read per workspace now and then, not one per claim.

    Each call waits for its slot in its workspace's bucket for the method (`bot.slack.pacing`). A
    rate-limit answer (429 + Retry-After, `ratelimited`, `rate_limited`) slows the bucket down and the
    call waits its turn again: never a failure. Only when its next turn would come after
    `wait_budget` seconds of waiting in all is the rate-limit answer handed back, for the caller to
    try again later (a claim must not outlive its lease while it waits). Nothing else is retried:
    the outbox decides what an error means.
    """

    def __init__(
        self,
        credentials: Callable[[str], WebClient],
        pacer: Pacer,
        timeout: float = 30.0,
        connections: int = 256,
        wait_budget: float = RATE_LIMIT_WAIT_BUDGET,
        observe: Callable[[str, str, bool], None] | None = None,
    ) -> None:
        """`observe(method, outcome, retry)` is told of every attempt (the metrics): `ok`, `error`, `429`."""
        self._observe = observe
        self._credentials = credentials
        self.pacer = pacer
        self._timeout = timeout
        self._connections = connections
        self.wait_budget = wait_budget
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: aiohttp.ClientSession | None = None
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()
        self._in_flight: Counter[tuple[str, str]] = Counter()
        self._counting = threading.Lock()
        self._tokens: dict[str, tuple[str, str | None]] = {}
        """team id -> (API URL, bot token), as `credentials` last said."""

    def call(self, team_id: str, method: str, params: Mapping[str, Any]) -> Future[Answer]:
        api_url, token = self._credentials_of(team_id)
        loop = self._running_loop()
        with self._counting:
            self._in_flight[(team_id, method)] += 1
        future = asyncio.run_coroutine_threadsafe(
            self._call(team_id, method, f"{api_url}/{method}", token, params), loop
        )
        future.add_done_callback(lambda _: self._landed(team_id, method))
        return future

    def post_to(
        self, url: str, message: Mapping[str, Any], after: Future[Answer] | None = None
    ) -> Future[Answer]:
        """POST `message` as JSON to a URL Slack handed out (a `response_url`) over the same pooled
        connections, once `after` (an earlier post) has landed, so posts to one URL keep their order.
        Not paced: Slack limits a response_url to five uses, not to a rate. Never raises: a failure is
        logged and answered with the error."""
        loop = self._running_loop()
        return asyncio.run_coroutine_threadsafe(self._post_to(url, dict(message), after), loop)

    async def _post_to(self, url: str, message: dict[str, Any], after: Future[Answer] | None) -> Answer:
        import aiohttp  # see _new_session

        if after is not None:
            await asyncio.wrap_future(after)  # never fails: see below
        try:
            async with self._session.post(url, json=message) as response:
                text = await response.text()
                answer = Answer(response.status, {"ok": response.status == 200, "error": text[:64]})
        except (aiohttp.ClientError, TimeoutError) as error:
            answer = Answer(None, {"ok": False, "error": type(error).__name__})
        except Exception as error:  # a message that cannot be sent at all: logged, never raised
            logger.exception("could not post to a response_url")
            answer = Answer(None, {"ok": False, "error": type(error).__name__})
        if answer.status != 200:
            logger.warning("a response_url post failed: %s (HTTP %s)", answer.error, answer.status)
        return answer

    def reread_credentials(self) -> None:
        """Read each workspace's token afresh at its next call."""
        self._tokens.clear()

    def _credentials_of(self, team_id: str) -> tuple[str, str | None]:
        found = self._tokens.get(team_id)
        if found is None:
            client = self._credentials(team_id)  # in the caller's thread: it may read the database
            found = self._tokens[team_id] = (client.base_url.rstrip("/"), client.token)
        return found

    def room(self, team_id: str, method: str, ahead: float) -> int:
        """How many more calls of `method` in the workspace to start now: what its pace lets through
        within `ahead` seconds, less those already in flight (at least one when none is). While some
        are in flight, none until half of that is free: a workspace's posts are then claimed several
        to a statement, not one at a time as each slot frees up."""
        if method == "chat.postMessage" and not self.pacer.posts_here(team_id):
            return 0  # another replica posts this workspace's messages
        per_second = self.pacer.per_second(team_id, method)
        with self._counting:
            in_flight = self._in_flight[(team_id, method)]
        if per_second is None:
            return 0 if in_flight else 1
        capacity = math.ceil(per_second * ahead)
        if not in_flight:
            return max(capacity, 1)
        free = capacity - in_flight
        return free if free * 2 >= capacity else 0

    def _landed(self, team_id: str, method: str) -> None:
        with self._counting:
            self._in_flight[(team_id, method)] -= 1

    def close(self) -> None:
        """Close the connections and stop the loop; a later call starts them again."""
        with self._starting:
            loop, thread = self._loop, self._thread
            if loop is None or thread is None:
                return
            if self._session is not None:
                asyncio.run_coroutine_threadsafe(self._session.close(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()
            self._loop = self._thread = self._session = None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._starting:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name="alignbot-slack", daemon=True)
                self._thread.start()
                self._session = asyncio.run_coroutine_threadsafe(self._new_session(), loop).result()
                self._loop = loop
            return self._loop

    async def _new_session(self) -> aiohttp.ClientSession:
        import aiohttp  # here, not at import: a server yet to send anything does without it

        connector = aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=30)
        return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=self._timeout))

    async def _call(
        self, team_id: str, method: str, url: str, token: str | None, params: Mapping[str, Any]
    ) -> Answer:
        waited, attempts = 0.0, 0
        answer = Answer(429, {"ok": False, "error": "ratelimited"})  # what the pace alone says
        while True:
            delay = self.pacer.reserve(team_id, method)
            if waited + delay > self.wait_budget:
                return answer  # the last "slow down", for the caller to try again later
            await asyncio.sleep(delay)
            waited += delay
            answer = await self._request(method, url, token, params)
            if self._observe is not None:
                outcome = "429" if answer.status == 429 else "ok" if answer.ok else "error"
                self._observe(method, outcome, attempts > 0)
            attempts += 1
            if not answer.rate_limited:
                if answer.ok:
                    self.pacer.accepted(team_id, method)
                return answer
            self.pacer.slow_down(team_id, method, answer.retry_after)
            logger.info("%s in %s: Slack said to slow down (%s)", method, team_id, answer.error)

    async def _request(self, method: str, url: str, token: str | None, params: Mapping[str, Any]) -> Answer:
        import aiohttp  # see _new_session

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if method in JSON_METHODS:
            headers["Content-Type"] = "application/json; charset=utf-8"
            body: dict[str, Any] = {"data": json_body(params)}
        else:
            body = {"data": {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}}
        try:
            async with self._session.post(url, headers=headers, **body) as response:
                try:
                    decoded = await response.json(content_type=None)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    decoded = {}
                retry_after = response.headers.get("Retry-After")
                return Answer(
                    response.status,
                    decoded if isinstance(decoded, dict) else {},
                    float(retry_after) if retry_after else None,
                )
        except aiohttp.ClientConnectorError:  # never reached Slack; a look-up confirms it, as after a 5xx
            return Answer(503, {"ok": False, "error": "connect_failed"})
        except (aiohttp.ClientError, TimeoutError) as error:
            return Answer(None, {"ok": False, "error": type(error).__name__})
