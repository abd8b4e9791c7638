"""Typed errors. Every error says what was wrong and where (object and field).

Two families matter to callers:

* :class:`DecodeError` — the input is not a well-formed privbill object (wrong type, unknown or
  missing field, non-canonical encoding, truncated file). The CLI exits with status 2.
* :class:`VerificationError` — a well-formed object that fails a check (bad signature, seals that
  do not cover the period, a fee that does not match). The CLI exits with status 1.
"""

from __future__ import annotations


class PrivbillError(Exception):
    """Base class of every error privbill raises on purpose."""

    def __init__(self, message: str, *, obj: str | None = None, field: str | None = None) -> None:
        self.obj = obj
        self.field = field
        self.detail = message
        where = ".".join(p for p in (obj, field) if p)
        super().__init__(f"{where}: {message}" if where else message)


class UsageError(PrivbillError):
    """Bad arguments or configuration supplied by the caller."""


class DecodeError(PrivbillError):
    """Input that is not a well-formed, canonically encoded privbill object."""


class TariffError(PrivbillError):
    """A tariff description that cannot be turned into a tariff (bad schedule, price, window)."""


class ReadingError(PrivbillError):
    """Readings that cannot be recorded (misaligned, duplicate, out of order, out of range)."""


class VerificationError(PrivbillError):
    """A well-formed object that fails verification."""


class SignatureError(VerificationError):
    """A signature that does not verify under the key it must verify under."""


class CertificateError(VerificationError):
    """A meter certificate that is not valid for this account, meter or period."""


class SealChainError(VerificationError):
    """Seals out of sequence, with a broken hash chain, or from the wrong meter."""


class CoverageError(VerificationError):
    """Seals that do not cover the billing period exactly (gap, overlap, outside the period)."""


class CommitmentError(VerificationError):
    """Commitments that do not match their seal or are not valid group elements."""


class TariffMismatchError(VerificationError):
    """A bill made under another tariff, or a tariff not valid for the billing period."""


class FeeMismatchError(VerificationError):
    """The claimed fee is not what the committed readings and the tariff give."""


class OpeningError(VerificationError):
    """An opening handed over by the meter does not match its sealed commitment."""


class ReceiptError(VerificationError):
    """A receipt that does not verify or does not match the bill."""


class ComponentProofError(VerificationError):
    """A charge component's proof (tiers, demand, minimum bill) that does not verify."""
