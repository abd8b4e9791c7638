"""Typed errors of the meter link and the agent (each names the object and field)."""

from __future__ import annotations

from privbill.errors import DecodeError, PrivbillError, UsageError, VerificationError


class LinkDecodeError(DecodeError):
    """A link message that is not well-formed (wrong type, unknown field, wrong topic)."""


class LinkDecryptError(VerificationError):
    """Encrypted openings that do not decrypt under the agent's key for this meter and message
    (altered ciphertext, or a ciphertext moved to another message or meter)."""


class LinkReplayError(VerificationError):
    """A message whose sequence number was already used by a different message (a replay of
    another message, or a meter whose link forked)."""


class LinkOrderError(VerificationError):
    """A message that does not continue what the agent holds for its meter (readings that skip
    or repeat intervals, a seal out of sequence or over other commitments)."""


class UnknownMeterError(VerificationError):
    """A message from a meter the agent does not serve."""


class AgentError(PrivbillError):
    """The agent cannot do what it was asked (configuration, store, provider service)."""


class StoreError(UsageError):
    """A household store that is missing, damaged or of another household."""


class GreenButtonError(DecodeError):
    """A Green Button (ESPI) file that cannot be used as a meter's measurements."""
