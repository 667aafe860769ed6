"""Slack listeners, one module per surface; each exposes `register(app)`."""

from slack_bolt import App

from handlers import align_command, home, pulse_admin, pulse_answers, setup_modal

MODULES = (align_command, setup_modal, home, pulse_admin, pulse_answers)


def register_all(app: App) -> None:
    for module in MODULES:
        module.register(app)
