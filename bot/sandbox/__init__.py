"""A local stand-in for Slack: the Web API server, the seeded workspace and Block Kit validation."""

from bot.sandbox.blockkit import validate_message_blocks, validate_payload, validate_view
from bot.sandbox.server import SlackSandbox
from bot.sandbox.state import RecordedCall, ResponseUrlPost
from bot.sandbox.workspace import SandboxChannel, SandboxUser, SandboxWorkspace, default_workspace

__all__ = [
    "RecordedCall",
    "ResponseUrlPost",
    "SandboxChannel",
    "SandboxUser",
    "SandboxWorkspace",
    "SlackSandbox",
    "default_workspace",
    "validate_message_blocks",
    "validate_payload",
    "validate_view",
]
