"""Fixtures for testing the sandbox itself: a sandbox on a fake clock and a real WebClient on it."""

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.sandbox.server import SlackSandbox
from tests.conversation import TOKEN, FakeClock


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
