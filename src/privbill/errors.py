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


class AmountError(PrivbillError, ValueError):
    """A decimal amount that cannot be represented exactly in the target unit
    (``privbill.model.money``)."""


# --- the cryptographic layer ---------------------------------------------------------------------
#
# ``privbill.crypto`` raises these (and re-exports each from the module that raises it:
# ``group.GroupError`` is this ``GroupError``). They are ``ValueError``s as well, as a malformed
# value is what they report.


class CryptoError(PrivbillError, ValueError):
    """A cryptographic value or operation refused."""


class GroupError(CryptoError):
    """A point or scalar that is not canonical, not on the curve or in the group, or the
    identity where it must not be (``privbill.crypto.group``)."""


class CodecError(CryptoError):
    """A byte string that does not deserialise (truncated, non-canonical, out of range), or a
    Fiat–Shamir transcript used out of order (``privbill.crypto.transcript``)."""


class RangeProofError(CryptoError):
    """A malformed range-proof encoding, an invalid statement, or a false statement at the
    prover (``privbill.crypto.bulletproofs``)."""


class SigmaError(CryptoError):
    """Malformed input to a Sigma-protocol prover or to the statement builder; verifiers return
    ``False`` (``privbill.crypto.sigma``)."""


class KeyLoadError(CryptoError):
    """A key that cannot be loaded or does not have a supported algorithm
    (``privbill.crypto.signatures``)."""


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


# --- the provider service: each error with the HTTP status it maps to --------------------------
#
# Errors of the library map as: DecodeError and UsageError → 400; VerificationError subclasses →
# 422 where a request is checked inline (a disclosure response, a tariff's signature). A bill's
# verification error is not an HTTP error: the bill is stored and its status says ``invalid``
# with the typed error.


class ServiceError(PrivbillError):
    """An HTTP request the provider service refuses (400 unless a subclass says otherwise)."""

    status = 400
    code = "bad_request"


class NotFoundError(ServiceError):
    status = 404
    code = "not_found"


class ConflictError(ServiceError):
    status = 409
    code = "conflict"


class AuthenticationError(ServiceError):
    """No credentials, or credentials that do not check (bad token, signature, stale or replayed
    request)."""

    status = 401
    code = "unauthenticated"


class ForbiddenError(ServiceError):
    """Valid credentials that do not allow this operation on this object."""

    status = 403
    code = "forbidden"


class PayloadTooLargeError(ServiceError):
    status = 413
    code = "payload_too_large"


class RateLimitedError(ServiceError):
    status = 429
    code = "rate_limited"


class UnprocessableError(ServiceError):
    status = 422
    code = "unprocessable"


# --- the household side: the meter link and the agent ------------------------------------------


class LinkDecodeError(DecodeError):
    """A link message that is not well-formed (wrong type, unknown field, wrong topic)."""


class DecryptError(PrivbillError):
    """An HPKE ciphertext that does not open under the key and context given
    (``privbill.household.hpke``); the meter link reports it as :class:`LinkDecryptError`."""


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


# --- disclosure requests and answers (privbill.disclosure) ---------------------------------------


class RequestExpiredError(VerificationError):
    """A disclosure request used after it expired (or a consent given outside its lifetime)."""


class RequestMismatchError(VerificationError):
    """A response (or consent) that answers another request."""


class ConsentError(VerificationError):
    """A consent record that is not bound to the request or consents to what was not asked."""


class DisclosureScopeError(VerificationError):
    """A response that holds more than, or other than, what was requested and consented."""


class DisclosureProofError(VerificationError):
    """A disclosed value or proof that does not match the sealed commitments."""


class BillReferenceError(VerificationError):
    """A response attached to a payment message that refers to another bill or seal."""


class DisclosurePolicyError(PrivbillError):
    """A disclosure the customer's device refuses: together with what was disclosed before, it
    would reveal a single reading or readings of a stretch shorter than the customer's policy
    allows. ``statements`` holds the request's statement indices that take part."""

    def __init__(
        self,
        message: str,
        *,
        statements: tuple[int, ...] = (),
        obj: str | None = "consent",
        field: str | None = "statements",
    ) -> None:
        super().__init__(message, obj=obj, field=field)
        self.statements = statements
