"""The pipeline's messages and modal (CRM imports), rendered from templates like every other."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.domain.pipeline_csv import ImportReport, MappingStep
from bot.services.pipeline_sync import SyncReport
from bot.slack.modal_metadata import MetadataSeal
from bot.slack.rendering import Renderer, default_renderer

Payload = dict[str, Any]


class PipelinePresenter:
    def __init__(self, renderer: Renderer, seal: MetadataSeal) -> None:
        self._renderer = renderer
        self._seal = seal

    def import_report(
        self, language: str, report: ImportReport, again: Mapping[str, str] | None = None
    ) -> Payload:
        """What an import did, or why nothing was imported; for a file whose columns need mapping, a
        button that opens the mapping step for the file and choices in `again` (file, kind, date order)."""
        value = json.dumps(dict(again), separators=(",", ":")) if again and report.mapping else None
        return import_report(self._renderer, language, report, "slack", value)

    def import_modal(self, language: str) -> Payload:
        return self._renderer.render(
            "pipeline_import_modal", language, private_metadata=self._seal.seal({"language": language})
        )

    def mapping_modal(
        self, language: str, step: MappingStep, file_id: str, file_name: str, date_order: str
    ) -> Payload:
        """The mapping step for the file `file_id`: its headers against the fields of `step.kind`."""
        metadata = {"language": language, "file": file_id, "kind": step.kind.value, "date_order": date_order}
        return self._renderer.render(
            "pipeline_mapping_modal",
            language,
            step=step,
            file_name=file_name,
            private_metadata=self._seal.seal(metadata),
        )

    def hubspot_modal(self, language: str) -> Payload:
        return self._renderer.render(
            "pipeline_hubspot_modal", language, private_metadata=self._seal.seal({"language": language})
        )

    def sync_report(self, language: str, report: SyncReport) -> Payload:
        return self._renderer.render("pipeline_sync", language, report=report)

    def usage(self, language: str) -> Payload:
        return self._renderer.render("pipeline_usage", language)


def import_report(
    renderer: Renderer, language: str, report: ImportReport, surface: str, map_value: str | None = None
) -> Payload:
    """`surface` ("slack" or "cli") says how the admin answers a question about the date order or the
    columns; `map_value`, the mapping button's value (Slack)."""
    return renderer.render("pipeline_import", language, report=report, surface=surface, map_value=map_value)


def import_report_text(report: ImportReport) -> str:
    """The report as the command line prints it (English)."""
    return import_report(default_renderer(), "en", report, "cli")["text"]


def default_pipeline_presenter(seal: MetadataSeal) -> PipelinePresenter:
    return PipelinePresenter(default_renderer(), seal)
