"""Who a pulse round goes to, and which department each person answers for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.domain.people import SlackUser
from bot.domain.vocabulary import DEPARTMENTS


@dataclass(frozen=True)
class Recipient:
    user: SlackUser
    department: str | None
    """None when the person must first tell us (in both departments' channels, or in neither)."""

    @property
    def needs_department(self) -> bool:
        return self.department is None


def may_receive_pulses(user: SlackUser, bot_user_id: str, include_guests: bool) -> bool:
    """Bots, deactivated people, the app itself and (unless chosen) guests are never messaged."""
    if user.id == bot_user_id or user.is_bot or user.deleted:
        return False
    return include_guests or not user.is_guest


def departments_by_channel(
    user_id: str, members_by_channel: Mapping[str, Iterable[str]], department_channels: Mapping[str, str]
) -> set[str]:
    """The departments in whose channels the person is a member."""
    return {
        department
        for channel, department in department_channels.items()
        if user_id in members_by_channel.get(channel, ())
    }


def department_of(
    user_id: str,
    members_by_channel: Mapping[str, Iterable[str]],
    department_channels: Mapping[str, str],
    chosen: Mapping[str, str],
) -> str | None:
    """The department from channel membership; someone in both (or neither) uses their own choice."""
    found = departments_by_channel(user_id, members_by_channel, department_channels)
    if len(found) == 1:
        return found.pop()
    return chosen.get(user_id) if chosen.get(user_id) in DEPARTMENTS else None


def recipients(
    audience_channels: Iterable[str],
    members_by_channel: Mapping[str, Iterable[str]],
    department_channels: Mapping[str, str],
    users: Mapping[str, SlackUser],
    chosen: Mapping[str, str],
    bot_user_id: str,
    include_guests: bool = False,
) -> list[Recipient]:
    """Everyone in the audience channels who may be messaged, once each, in a stable order."""
    members = {
        user_id: None for channel in audience_channels for user_id in members_by_channel.get(channel, ())
    }
    result = []
    for user_id in sorted(members):
        user = users.get(user_id)
        if user is None or not may_receive_pulses(user, bot_user_id, include_guests):
            continue
        result.append(
            Recipient(user, department_of(user_id, members_by_channel, department_channels, chosen))
        )
    return result
