"""People as Slack describes them, and the rules about what they may do."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain.vocabulary import SUPPORTED_LANGUAGES


@dataclass(frozen=True)
class SlackUser:
    """The parts of a `users.info` answer the bot decides on."""

    id: str
    name: str
    tz: str | None = None
    locale: str | None = None
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    deleted: bool = False
    is_guest: bool = False
    status_emoji: str = ""
    status_text: str = ""
    status_expiration: int = 0
    """When the status clears by itself (Unix seconds); 0 when it stays until changed."""

    @classmethod
    def from_api(cls, user: Mapping[str, Any]) -> SlackUser:
        profile = user.get("profile") or {}
        return cls(
            id=user["id"],
            name=profile.get("display_name") or user.get("real_name") or user.get("name") or user["id"],
            tz=user.get("tz"),
            locale=user.get("locale"),
            is_admin=bool(user.get("is_admin")),
            is_owner=bool(user.get("is_owner") or user.get("is_primary_owner")),
            is_bot=bool(user.get("is_bot")) or user.get("id") == "USLACKBOT",
            deleted=bool(user.get("deleted")),
            is_guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
            status_emoji=profile.get("status_emoji") or "",
            status_text=profile.get("status_text") or "",
            status_expiration=int(profile.get("status_expiration") or 0),
        )


def may_administer(user: SlackUser, configured_admins: Collection[str]) -> bool:
    """Slack's own admins and owners, plus whoever the bot's setup named, may change settings."""
    if user.deleted or user.is_bot or user.is_guest:
        return False
    return user.is_admin or user.is_owner or user.id in configured_admins


def may_lead(
    user: SlackUser,
    configured_admins: Collection[str],
    named_leaders: Collection[str],
    leadership_members: Collection[str],
) -> bool:
    """Leaders read the preview and act on the digest's nudges: the admins, the people an admin
    named to receive the digest, and the members of the leadership channel (where it is posted)."""
    if user.deleted or user.is_bot or user.is_guest:
        return False
    return (
        may_administer(user, configured_admins) or user.id in named_leaders or user.id in leadership_members
    )


def choose_language(override: str | None, slack_locale: str | None, workspace_default: str) -> str:
    """A person's own choice first, then their Slack locale, then the workspace default."""
    if override in SUPPORTED_LANGUAGES:
        return override
    if slack_locale:
        prefix = slack_locale.split("-")[0].split("_")[0].lower()
        if prefix in SUPPORTED_LANGUAGES:
            return prefix
    return workspace_default if workspace_default in SUPPORTED_LANGUAGES else "en"
