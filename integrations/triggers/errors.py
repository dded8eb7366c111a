"""The exception tree of Echo's event matching: an event we cannot use, and a signature that does not hold.

The API turns ``TriggerError`` into a 400 with Spinnaker's error shape. Matching never raises
``SignatureError`` for a single trigger (that trigger is refused instead, as Echo does); it is
raised by ``verify_github_signature`` for callers that check one secret themselves.
"""

from __future__ import annotations

from core.errors import IntegrationError


class TriggerError(IntegrationError, ValueError):
    """Unusable event input; the message names the field at fault (``body``, ``ref``, ``status``...)."""


class SignatureError(TriggerError):
    """A signature header that is missing, malformed or wrong. The message never carries the body or the secret."""
