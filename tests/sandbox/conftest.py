"""Fixtures for testing the sandbox itself: a sandbox on a fake clock and a real WebClient on it."""

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.sandbox.server import SlackSandbox

TOKEN = "xoxb-sandbox-token"


class FakeClock:
    """A clock tests move by hand, so trigger/response_url expiry and rate limits need no sleeping."""

    def __init__(self, now: float = 1_732_312_345.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[SlackSandbox]:
    with SlackSandbox(clock=clock) as running:
        yield running


@pytest.fixture
def client(sandbox: SlackSandbox) -> WebClient:
    return WebClient(token=TOKEN, base_url=sandbox.api_url)
