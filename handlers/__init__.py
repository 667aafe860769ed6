"""Slack listeners, one module per surface; each exposes `register(app)`."""

from slack_bolt import App

from handlers import (
    align_command,
    digest,
    home,
    installation,
    meetings,
    pipeline,
    privacy,
    pulse_admin,
    pulse_answers,
    setup_modal,
)

#: Bolt tries listeners in the order registered: rating taps, by far the most frequent request, first.
MODULES = (pulse_answers, align_command, setup_modal, home, pulse_admin, digest, privacy, meetings, pipeline)


def register_all(app: App, many_workspaces: bool = False) -> None:
    """`many_workspaces`: the app is installed through OAuth, and hears when it is uninstalled."""
    for module in MODULES:
        module.register(app)
    if many_workspaces:
        installation.register(app)
