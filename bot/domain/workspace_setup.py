"""The workspace configuration chosen with `/align setup`, and the rules it must satisfy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.vocabulary import MARKETING, SALES, SUPPORTED_LANGUAGES

DEFAULT_ANONYMITY_THRESHOLD = 5
MIN_ANONYMITY_THRESHOLD = 3
MAX_ANONYMITY_THRESHOLD = 10
MAX_CHANNELS_PER_DEPARTMENT = 10
MAX_EXTRA_ADMINS = 20


@dataclass(frozen=True)
class WorkspaceConfig:
    sales_channels: tuple[str, ...]
    marketing_channels: tuple[str, ...]
    leadership_channel: str | None
    timezone: str
    default_language: str
    anonymity_threshold: int
    admins: tuple[str, ...]

    @property
    def department_channels(self) -> dict[str, str]:
        """Each sales and marketing channel, with the department its members belong to."""
        return {c: SALES for c in self.sales_channels} | {c: MARKETING for c in self.marketing_channels}


@dataclass(frozen=True)
class SetupForm:
    """The raw values of the setup modal, as strings and id lists, before any checking."""

    sales_channels: tuple[str, ...] = ()
    marketing_channels: tuple[str, ...] = ()
    leadership_channel: str | None = None
    timezone: str = ""
    default_language: str = ""
    anonymity_threshold: str = ""
    admins: tuple[str, ...] = ()


def _is_timezone(name: str) -> bool:
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def validate(form: SetupForm) -> tuple[WorkspaceConfig | None, Mapping[str, str]]:
    """Return the configuration, or field errors keyed by field name (error codes, not text).

    Nothing is ever half-applied: either every field is valid, or the caller stores nothing.
    """
    errors: dict[str, str] = {}
    if not form.sales_channels:
        errors["sales_channels"] = "channels_required"
    elif len(form.sales_channels) > MAX_CHANNELS_PER_DEPARTMENT:
        errors["sales_channels"] = "too_many_channels"
    if not form.marketing_channels:
        errors["marketing_channels"] = "channels_required"
    elif len(form.marketing_channels) > MAX_CHANNELS_PER_DEPARTMENT:
        errors["marketing_channels"] = "too_many_channels"
    elif set(form.sales_channels) & set(form.marketing_channels):
        errors["marketing_channels"] = "channel_in_both"
    if form.leadership_channel and form.leadership_channel in (
        set(form.sales_channels) | set(form.marketing_channels)
    ):
        errors["leadership_channel"] = "leadership_is_department"
    timezone = form.timezone.strip()
    if not _is_timezone(timezone):
        errors["timezone"] = "invalid_timezone"
    if form.default_language not in SUPPORTED_LANGUAGES:
        errors["default_language"] = "invalid_language"
    threshold = form.anonymity_threshold.strip()
    if (
        not threshold.isascii()
        or not threshold.isdigit()
        or not MIN_ANONYMITY_THRESHOLD <= int(threshold) <= MAX_ANONYMITY_THRESHOLD
    ):
        errors["anonymity_threshold"] = "threshold_out_of_range"
    if len(form.admins) > MAX_EXTRA_ADMINS:
        errors["admins"] = "too_many_admins"
    if errors:
        return None, errors
    return (
        WorkspaceConfig(
            sales_channels=tuple(dict.fromkeys(form.sales_channels)),
            marketing_channels=tuple(dict.fromkeys(form.marketing_channels)),
            leadership_channel=form.leadership_channel or None,
            timezone=timezone,
            default_language=form.default_language,
            anonymity_threshold=int(threshold),
            admins=tuple(dict.fromkeys(form.admins)),
        ),
        {},
    )
