"""What a modal remembers between opening and submission (`private_metadata`), signed by the bot.

Slack hands the metadata back with the submission, and whoever sends a submission can put anything
in it; only what carries the bot's own signature is believed."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

KEY_LABEL = b"alignbot modal metadata"
"""Derives the signing key from a secret used elsewhere for something else, so the two never mix."""


class MetadataSeal:
    """Signs modal metadata (HMAC-SHA256) and checks the signature of what comes back."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("modal metadata needs a secret to be signed with")
        self._key = hmac.new(secret.encode(), KEY_LABEL, hashlib.sha256).digest()

    def seal(self, metadata: Mapping[str, object]) -> str:
        body = json.dumps(metadata, separators=(",", ":"))
        return f"{self._signature(body)}.{body}"

    def unseal(self, sealed: str) -> dict | None:
        """The metadata, or None when the signature is missing or wrong."""
        signature, _, body = sealed.partition(".")
        if not hmac.compare_digest(signature.encode(), self._signature(body).encode()):
            return None
        try:
            metadata = json.loads(body)
        except ValueError:
            return None
        return metadata if isinstance(metadata, dict) else None

    def _signature(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()
