"""Slack listeners, one module per surface; each exposes `register(app)`."""

from slack_bolt import App

from handlers import align_command, digest, home, pulse_admin, pulse_answers, setup_modal

MODULES = (align_command, setup_modal, home, pulse_admin, pulse_answers, digest)


def register_all(app: App) -> None:
    for module in MODULES:
        module.register(app)
