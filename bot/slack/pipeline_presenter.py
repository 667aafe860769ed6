"""The pipeline's messages and modal (CRM imports), rendered from templates like every other."""

from __future__ import annotations

from typing import Any

from bot.domain.pipeline_csv import ImportReport
from bot.services.pipeline_sync import SyncReport
from bot.slack.modal_metadata import MetadataSeal
from bot.slack.rendering import Renderer, default_renderer

Payload = dict[str, Any]


class PipelinePresenter:
    def __init__(self, renderer: Renderer, seal: MetadataSeal) -> None:
        self._renderer = renderer
        self._seal = seal

    def import_report(self, language: str, report: ImportReport) -> Payload:
        """What an import did, or why nothing was imported."""
        return import_report(self._renderer, language, report, "slack")

    def import_modal(self, language: str) -> Payload:
        return self._renderer.render(
            "pipeline_import_modal", language, private_metadata=self._seal.seal({"language": language})
        )

    def hubspot_modal(self, language: str) -> Payload:
        return self._renderer.render(
            "pipeline_hubspot_modal", language, private_metadata=self._seal.seal({"language": language})
        )

    def sync_report(self, language: str, report: SyncReport) -> Payload:
        return self._renderer.render("pipeline_sync", language, report=report)

    def usage(self, language: str) -> Payload:
        return self._renderer.render("pipeline_usage", language)


def import_report(renderer: Renderer, language: str, report: ImportReport, surface: str) -> Payload:
    """`surface` ("slack" or "cli") says how the admin answers a question about the date order."""
    return renderer.render("pipeline_import", language, report=report, surface=surface)


def import_report_text(report: ImportReport) -> str:
    """The report as the command line prints it (English)."""
    return import_report(default_renderer(), "en", report, "cli")["text"]


def default_pipeline_presenter(seal: MetadataSeal) -> PipelinePresenter:
    return PipelinePresenter(default_renderer(), seal)
