"""The Slack Web API methods the sandbox answers, one module per method family.

Each method takes the sandbox's state, the workspace the call's token acts in and the call's
parameters, and returns Slack's answer or raises ``ApiError`` with Slack's error code.
"""

from bot.sandbox.webapi import auth, chat, conversations, files, users, views
from bot.sandbox.webapi.arguments import ApiError, Method

METHODS: dict[str, Method] = {
    **auth.METHODS,
    **chat.METHODS,
    **conversations.METHODS,
    **users.METHODS,
    **views.METHODS,
    **files.METHODS,
}

__all__ = ["METHODS", "ApiError", "Method"]
