"""Selective disclosure objects: the provider's request, the customer's consent, the response.

Three canonical CBOR objects (``docs/disclosure.md`` describes the flow):

* :class:`DisclosureRequest` — ``privbill/disclosure-request/1``, signed by the provider (purpose
  ``disclosure-request``): who asks, why, for which account, meters and period, which statements,
  and until when the request is valid.
* :class:`Consent` — ``privbill/disclosure-consent/1``: the hash of the request, the indices of
  the statements the customer agrees to answer, and when; signed by the customer (purpose
  ``disclosure-consent``) when the customer has a key. The consent record travels inside the
  response and its hash is bound into every proof's context.
* :class:`DisclosureResponse` — ``privbill/disclosure-response/2``: the request hash, the consent,
  per meter the sealed evidence (the certificate and the sealed runs that cover the disclosed
  intervals, or — when the response accompanies a payment message — the chain hashes of the
  bill's seals), and one answer per consented statement. Every answer carries a proof made under
  its statement's context (request, consent, statement, meter, period), so no answer can be
  re-used for another request or consent.

Statements (each names one meter):

=================  ==============================================  ==============================
kind               statement                                       answer
=================  ==============================================  ==============================
``open``           the readings of the listed intervals            ``c_i`` per interval, a proof
``sum``            ``Σ c_i`` over a window, a register or period   ``Σ c_i``, a proof
``weighted-sum``   ``Σ w_i·c_i``, public integer weights          ``Σ w_i·c_i``, a proof
``threshold``      ``Σ c_i ≤ X``, ``Σ c_i ≥ X`` or every ``c_i ≤ Y``  range proofs
=================  ==============================================  ==============================

Each statement kind is one class registered with :func:`statement_kind`
(:mod:`privbill.disclosure.statements` holds them); decoding a statement or an answer
dispatches through that registry. Decoding is strict (:mod:`privbill.model.codec`); a request
is also checked for consistency (meters known, windows aligned to the meter interval and inside
the period, weights matching their window) and every violation is a :class:`DecodeError`
naming the field. Error classes of disclosure verification live here, so that model, verifier
and command line share them.
"""

from __future__ import annotations

import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, TypeVar
from zoneinfo import ZoneInfo

from privbill.crypto import group
from privbill.crypto.hashing import DIGEST_BYTES, digest
from privbill.crypto.signatures import SIGNATURE_BYTES, KeyError_, SigningKey, VerifyingKey
from privbill.errors import (
    BillReferenceError as BillReferenceError,
)
from privbill.errors import (
    ConsentError as ConsentError,
)
from privbill.errors import (
    DecodeError,
    SignatureError,
    UsageError,
)
from privbill.errors import (
    DisclosurePolicyError as DisclosurePolicyError,
)
from privbill.errors import (
    DisclosureProofError as DisclosureProofError,
)
from privbill.errors import (
    DisclosureScopeError as DisclosureScopeError,
)
from privbill.errors import (
    RequestExpiredError as RequestExpiredError,
)
from privbill.errors import (
    RequestMismatchError as RequestMismatchError,
)
from privbill.model import codec, money
from privbill.model.certificates import MeterCertificate
from privbill.model.ids import is_identifier
from privbill.model.periods import (
    MAX_INTERVAL_S,
    MIN_INTERVAL_S,
    BillingPeriod,
    zone,
)
from privbill.model.seals import SealedRun
from privbill.model.tariffs import SignedTariff

if TYPE_CHECKING:
    from privbill.crypto.group import Point
    from privbill.disclosure.ledger import EntryKind
    from privbill.disclosure.verified import StatementResult

REQUEST_FORMAT: Final = "privbill/disclosure-request/1"
CONSENT_FORMAT: Final = "privbill/disclosure-consent/1"
RESPONSE_FORMAT: Final = "privbill/disclosure-response/2"
#: Signature purposes.
REQUEST_PURPOSE: Final = "disclosure-request"
CONSENT_PURPOSE: Final = "disclosure-consent"
#: Hash purposes (distinct from the signature purposes).
REQUEST_HASH: Final = "disclosure-request-hash"
CONSENT_HASH: Final = "disclosure-consent-hash"
RESPONSE_HASH: Final = "disclosure-response-hash"

REQUEST_OBJ: Final = "disclosure request"
CONSENT_OBJ: Final = "consent"
RESPONSE_OBJ: Final = "disclosure response"

REQUEST_ID_BYTES: Final = 16
MAX_METERS: Final = 1024
MAX_STATEMENTS: Final = 256
MAX_OPEN: Final = 1 << 16
MAX_WEIGHTS: Final = 1 << 20
#: Weights are bounded like tariff prices: ``|w| ≤ 2^40``.
MAX_ABS_WEIGHT: Final = money.MAX_ABS_PRICE
#: Bound ``X`` of the sum tests (``0 ≤ X ≤ 2^62``).
MAX_SUM_BOUND: Final = 2**62
#: Bound ``Y`` of the per-interval test (``0 ≤ Y < 2^32``).
MAX_EACH_BOUND: Final = money.MAX_WH_PER_INTERVAL
MAX_PROOF_BYTES: Final = 1 << 16
#: One range proof per set bit of the number of derived commitments (at most 2^20 of them).
MAX_RANGE_PROOFS: Final = 21
MAX_REGISTER: Final = 63
#: Decoding bounds. A request: request → statements → statement → selector or weights (depth
#: 4); the weights of all its statements together share one bound of 2^20 items.
REQUEST_LIMITS: Final = codec.Limits(depth=4, items=codec.MAX_ITEMS, container=MAX_WEIGHTS)
#: A consent: a flat map and the chosen statement indices.
CONSENT_LIMITS: Final = codec.Limits(depth=2, items=2 * MAX_STATEMENTS, container=MAX_STATEMENTS)
#: A response: response → meters → evidence → runs → run → seal (depth 6); opened readings
#: and sealed runs bounded like a bill's.
RESPONSE_LIMITS: Final = codec.Limits(depth=6, items=codec.MAX_ITEMS, container=1 << 20)
#: Size of the proof that binds a revealed value to its statement (a compact Sigma proof:
#: challenge and response, ``docs/disclosure.md`` §3.4).
REVEAL_PROOF_BYTES: Final = 2 * group.SCALAR_BYTES
#: Default shortest stretch of time whose consumption a customer lets be learned: 23 hours, the
#: shortest local day (the day daylight saving time starts), so that every local day counts.
DEFAULT_MIN_WINDOW_S: Final = 23 * 3600
#: Tolerated clock difference between provider and customer device (seconds).
CLOCK_SKEW_S: Final = 300
DEFAULT_LIFETIME_S: Final = 14 * 86400

ThresholdTest = Literal["sum-at-most", "sum-at-least", "each-at-most"]
THRESHOLD_TESTS: Final[tuple[ThresholdTest, ...]] = ("sum-at-most", "sum-at-least", "each-at-most")


# --- selectors: which intervals a statement is about -----------------------------------------


@dataclass(frozen=True, slots=True)
class WholePeriod:
    """Every interval of the request's period."""

    KIND: ClassVar[str] = "period"

    def to_obj(self) -> dict[str, Any]:
        return {"kind": self.KIND}


@dataclass(frozen=True, slots=True)
class Window:
    """The intervals of ``[start, end)`` (Unix seconds, aligned to the meter interval)."""

    start: int
    end: int
    KIND: ClassVar[str] = "window"

    def to_obj(self) -> dict[str, Any]:
        return {"kind": self.KIND, "from": self.start, "to": self.end}


@dataclass(frozen=True, slots=True)
class Register:
    """The intervals of the period that a signed time-of-use tariff prices in one of its periods
    (a multi-rate meter's register: "on-peak", "off-peak", …)."""

    tariff_hash: bytes
    register: int
    KIND: ClassVar[str] = "register"

    def to_obj(self) -> dict[str, Any]:
        return {"kind": self.KIND, "tariff_hash": self.tariff_hash, "register": self.register}


Selector = WholePeriod | Window | Register


def selector_from_obj(value: object, path: str, obj: str) -> Selector:
    if not isinstance(value, dict) or "kind" not in value:
        raise DecodeError("expected a selector map with a kind", obj=obj, field=path)
    kind = value["kind"]
    if kind == WholePeriod.KIND:
        codec.Fields(value, obj, {"kind"}, path=path)
        return WholePeriod()
    if kind == Window.KIND:
        f = codec.Fields(value, obj, {"kind", "from", "to"}, path=path)
        start, end = f.time("from"), f.time("to")
        if end <= start:
            raise f.error("to", "window ends before it starts")
        return Window(start, end)
    if kind == Register.KIND:
        f = codec.Fields(value, obj, {"kind", "tariff_hash", "register"}, path=path)
        return Register(
            f.octets("tariff_hash", DIGEST_BYTES), f.integer("register", 0, MAX_REGISTER)
        )
    raise DecodeError(f"unknown selector kind {kind!r}", obj=obj, field=f"{path}.kind")


# --- statements: one registered class per kind -----------------------------------------------


class Statement(ABC):
    """What a request asks to learn about one meter. Each kind is one class, registered once
    with :func:`statement_kind` (the kinds are in :mod:`privbill.disclosure.statements`): it
    decodes its signed form and its JSON description, checks itself against the request, says
    in plain words what it discloses, proves and verifies its answer, and names what the
    customer's ledger records of it. Everything that differs by kind is dispatched through
    the registry here."""

    __slots__ = ()
    KIND: ClassVar[str]
    #: The fields of the signed form (besides ``kind``).
    FIELDS: ClassVar[frozenset[str]]
    #: The keys of the JSON description (``docs/disclosure.md``, the statement list).
    JSON_KEYS: ClassVar[frozenset[str]]
    meter: str

    @abstractmethod
    def to_obj(self) -> dict[str, Any]:
        """The signed form."""

    @classmethod
    @abstractmethod
    def from_fields(cls, f: codec.Fields, path: str) -> Statement:
        """Decode the signed form (its fields already checked against :attr:`FIELDS`)."""

    @classmethod
    @abstractmethod
    def from_json(cls, item: Mapping[str, Any], spec: StatementSpec) -> Statement:
        """Build the statement from its JSON description."""

    @abstractmethod
    def check(self, request: DisclosureRequest, step: int, path: str) -> None:
        """Raise :class:`DecodeError` unless the statement fits the request (aligned to the
        meter's ``step``, inside the period)."""

    @abstractmethod
    def describe(self, request: DisclosureRequest, tariffs: Sequence[SignedTariff]) -> str:
        """What the requester would learn, in plain words."""

    @abstractmethod
    def caveats(self) -> frozenset[str]:
        """The warnings the plain-words request shows for this kind
        (:data:`privbill.disclosure.wording.CAVEATS`)."""

    @abstractmethod
    def selector(self) -> Selector | None:
        """Which intervals the statement is about, if a selector picks them."""

    @abstractmethod
    def tariff_hash(self) -> bytes | None:
        """The hash of the signed tariff the statement needs, if any."""

    @abstractmethod
    def intervals(
        self,
        request: DisclosureRequest,
        tariffs: Sequence[SignedTariff],
        provider: VerifyingKey,
        where: str = "statement",
    ) -> Sequence[int]:
        """The interval indices the statement is about, in increasing order."""

    @abstractmethod
    def prove(
        self,
        index: int,
        request: DisclosureRequest,
        values: list[int],
        blindings: list[int],
        points: list[Point],
        context: bytes,
    ) -> Answer:
        """The answer to statement ``index`` from the openings of its intervals."""

    @classmethod
    @abstractmethod
    def decode_answer(cls, value: dict[Any, Any], path: str) -> Answer:
        """Decode an answer of this kind."""

    @abstractmethod
    def check_answer(self, index: int, answer: Answer, path: str) -> None:
        """Raise :class:`DisclosureScopeError` unless ``answer`` is of this kind and shape."""

    @abstractmethod
    def verify(
        self,
        index: int,
        answer: Answer,
        request: DisclosureRequest,
        points: list[Point],
        context: bytes,
        path: str,
    ) -> StatementResult:
        """Check the answer against the sealed commitments ``points``; what it discloses."""

    @abstractmethod
    def ledger_terms(
        self, request: DisclosureRequest, intervals: Sequence[int]
    ) -> tuple[EntryKind, list[tuple[int, int]]]:
        """What the customer's ledger records: the entry kind and ``(interval, weight)``
        pairs of the functional the answer discloses or bounds."""

    @abstractmethod
    def result_words(self, result: StatementResult, request: DisclosureRequest) -> str:
        """The verified result in words, after ``"kind meter N reading(s)"``."""


_KINDS: Final[dict[str, type[Statement]]] = {}
_S = TypeVar("_S", bound=type[Statement])


def statement_kind(cls: _S) -> _S:
    """Register a statement class under its :attr:`Statement.KIND`."""
    if cls.KIND in _KINDS:
        raise UsageError(f"statement kind {cls.KIND!r} registered twice", obj="statement kinds")
    _KINDS[cls.KIND] = cls
    return cls


def statement_kinds() -> tuple[str, ...]:
    """The registered statement kinds, in registration order."""
    return tuple(_KINDS)


def statement_class(kind: object, what: str, obj: str, field: str) -> type[Statement]:
    """The class of ``kind``; a :class:`DecodeError` naming ``field`` for an unknown one."""
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise DecodeError(f"unknown {what} kind {kind!r}", obj=obj, field=field)
    return cls


def statement_bytes(statement: Statement) -> bytes:
    """The canonical encoding of one statement (bound into its proof context)."""
    return codec.encode(statement.to_obj())


def _statement_from_obj(value: object, path: str) -> Statement:
    obj = REQUEST_OBJ
    if not isinstance(value, dict) or "kind" not in value:
        raise DecodeError("expected a statement map with a kind", obj=obj, field=path)
    cls = statement_class(value["kind"], "statement", obj, f"{path}.kind")
    f = codec.Fields(value, obj, {"kind", *cls.FIELDS}, path=path)
    return cls.from_fields(f, path)


@dataclass(frozen=True, slots=True)
class StatementSpec:
    """What the JSON description of statement ``index`` is read against: the request's meters
    (interval lengths), period, local time and the signed tariffs of register statements."""

    index: int
    meter: str
    lengths: Mapping[str, int]
    period: BillingPeriod
    tz: ZoneInfo
    tariffs: Sequence[SignedTariff]

    @property
    def step(self) -> int:
        return self.lengths[self.meter]


# --- the request -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeterRef:
    """A meter the request is about, with its interval length (from its certificate)."""

    meter_id: str
    interval_s: int

    def to_obj(self) -> dict[str, Any]:
        return {"meter_id": self.meter_id, "interval_s": self.interval_s}


_REQUEST_FIELDS: Final = frozenset(
    {"format", "request_id", "requester", "purpose", "account", "meters", "period", "timezone",
     "statements", "issued_at", "expires", "issuer", "signature"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DisclosureRequest:
    request_id: bytes
    requester: str
    purpose: str
    account: str
    meters: tuple[MeterRef, ...]
    period: BillingPeriod
    timezone: str  # IANA: how dates are shown to the customer
    statements: tuple[Statement, ...]
    issued_at: int
    expires: int
    issuer: bytes
    signature: bytes

    def body(self) -> dict[str, Any]:
        return {
            "format": REQUEST_FORMAT,
            "request_id": self.request_id,
            "requester": self.requester,
            "purpose": self.purpose,
            "account": self.account,
            "meters": [m.to_obj() for m in self.meters],
            "period": self.period.to_obj(),
            "timezone": self.timezone,
            "statements": [s.to_obj() for s in self.statements],
            "issued_at": self.issued_at,
            "expires": self.expires,
            "issuer": self.issuer,
        }

    def body_bytes(self) -> bytes:
        return codec.encode(self.body())

    def hash(self) -> bytes:
        """The request hash bound into consents, responses and every proof context."""
        return digest(REQUEST_HASH, self.body_bytes())

    def encode(self) -> bytes:
        return codec.encode({**self.body(), "signature": self.signature})

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    def meter(self, meter_id: str) -> MeterRef:
        for m in self.meters:
            if m.meter_id == meter_id:
                return m
        raise RequestMismatchError(
            f"the request names no meter {meter_id!r}", obj=REQUEST_OBJ, field="meters"
        )

    @classmethod
    def create(
        cls,
        key: SigningKey,
        *,
        requester: str,
        purpose: str,
        account: str,
        meters: Sequence[MeterRef],
        period: BillingPeriod,
        timezone: str,
        statements: Sequence[Statement],
        issued_at: int | None = None,
        lifetime_s: int = DEFAULT_LIFETIME_S,
        request_id: bytes | None = None,
    ) -> DisclosureRequest:
        """Build and sign a request; inconsistent arguments raise :class:`UsageError`."""
        now = int(time.time()) if issued_at is None else issued_at
        unsigned = cls(
            request_id=secrets.token_bytes(REQUEST_ID_BYTES) if request_id is None else request_id,
            requester=requester,
            purpose=purpose,
            account=account,
            meters=tuple(meters),
            period=period,
            timezone=timezone,
            statements=tuple(statements),
            issued_at=now,
            expires=now + lifetime_s,
            issuer=key.public_key().key_id,
            signature=bytes(SIGNATURE_BYTES),
        )
        # The decoder is the one place that knows what a valid request is.
        try:
            cls.decode(unsigned.encode())
        except DecodeError as exc:
            raise UsageError(exc.detail, obj=REQUEST_OBJ, field=exc.field) from None
        sig = key.sign(REQUEST_PURPOSE, unsigned.body_bytes())
        return cls(**{**_fields_of(unsigned), "signature": sig})

    @classmethod
    def decode(cls, data: bytes) -> DisclosureRequest:
        return cls.from_obj(codec.decode(data, REQUEST_OBJ, REQUEST_FORMAT, REQUEST_LIMITS))

    @classmethod
    def from_obj(cls, value: object) -> DisclosureRequest:
        f = codec.Fields(value, REQUEST_OBJ, _REQUEST_FIELDS)
        if f.raw("format") != REQUEST_FORMAT:
            raise f.error("format", f"expected {REQUEST_FORMAT!r}")
        p = f.sub("period", {"start", "end"})
        start, end = p.time("start"), p.time("end")
        if end <= start:
            raise p.error("end", "period ends before it starts")
        tzname = f.text("timezone", 64)
        try:
            zone(tzname)
        except UsageError as exc:
            raise f.error("timezone", exc.detail) from None
        issued_at, expires = f.time("issued_at"), f.time("expires")
        if expires <= issued_at:
            raise f.error("expires", "request expires before it is issued")
        req = cls(
            request_id=f.octets("request_id", REQUEST_ID_BYTES),
            requester=f.text("requester", 200, _is_display_text),
            purpose=f.text("purpose", 1000, _is_display_text),
            account=f.text("account", 64, is_identifier),
            meters=tuple(f.each("meters", _meter_ref_from_obj, 1, MAX_METERS)),
            period=BillingPeriod(start, end),
            timezone=tzname,
            statements=tuple(f.each("statements", _statement_from_obj, 1, MAX_STATEMENTS)),
            issued_at=issued_at,
            expires=expires,
            issuer=f.octets("issuer", DIGEST_BYTES),
            signature=f.octets("signature", SIGNATURE_BYTES),
        )
        _check_request(req)
        return req

    def verify(self, provider: VerifyingKey) -> None:
        """Raise :class:`SignatureError` unless ``provider`` signed this request."""
        if self.issuer != provider.key_id:
            raise SignatureError(
                "request signed by another provider key", obj=REQUEST_OBJ, field="issuer"
            )
        if not provider.verify(REQUEST_PURPOSE, self.body_bytes(), self.signature):
            raise SignatureError(
                "provider signature does not verify", obj=REQUEST_OBJ, field="signature"
            )

    def check_time(self, now: int) -> None:
        """Raise :class:`RequestExpiredError` unless ``now`` lies in the request's lifetime."""
        if now >= self.expires:
            raise RequestExpiredError(
                f"request expired at {_utc(self.expires)}", obj=REQUEST_OBJ, field="expires"
            )
        if now < self.issued_at - CLOCK_SKEW_S:
            raise RequestExpiredError(
                f"request is not valid before {_utc(self.issued_at)}",
                obj=REQUEST_OBJ,
                field="issued_at",
            )


def _fields_of(req: DisclosureRequest) -> dict[str, Any]:
    return {name: getattr(req, name) for name in DisclosureRequest.__dataclass_fields__}


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S UTC")


def _is_display_text(text: str) -> bool:
    return bool(text.strip()) and all(ch.isprintable() or ch == "\n" for ch in text)


def _meter_ref_from_obj(value: object, path: str) -> MeterRef:
    f = codec.Fields(value, REQUEST_OBJ, {"meter_id", "interval_s"}, path=path)
    interval = f.integer("interval_s", MIN_INTERVAL_S, MAX_INTERVAL_S)
    if 86400 % interval:
        raise f.error("interval_s", "interval length must divide a day")
    return MeterRef(f.text("meter_id", 64, is_identifier), interval)


def _check_request(req: DisclosureRequest) -> None:
    """Consistency of a structurally valid request; every failure names its field."""

    def err(field: str, message: str) -> DecodeError:
        return DecodeError(message, obj=REQUEST_OBJ, field=field)

    lengths: dict[str, int] = {}
    for k, m in enumerate(req.meters):
        if m.meter_id in lengths:
            raise err(f"meters[{k}].meter_id", f"meter {m.meter_id!r} listed twice")
        if req.period.start % m.interval_s or req.period.end % m.interval_s:
            raise err("period", f"period is not aligned to meter {m.meter_id!r}'s intervals")
        lengths[m.meter_id] = m.interval_s
    used: set[str] = set()
    seen: set[bytes] = set()
    for k, s in enumerate(req.statements):
        path = f"statements[{k}]"
        if s.meter not in lengths:
            raise err(f"{path}.meter", f"meter {s.meter!r} is not among the request's meters")
        used.add(s.meter)
        enc = statement_bytes(s)
        if enc in seen:
            raise err(path, "statement requested twice")
        seen.add(enc)
        s.check(req, lengths[s.meter], path)
    for k, m in enumerate(req.meters):
        if m.meter_id not in used:
            raise err(f"meters[{k}]", f"no statement is about meter {m.meter_id!r}")


# --- consent ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Consent:
    """The customer's answer to "may we learn this?": the statements agreed to, and when.

    ``customer_key`` and ``signature`` are present together or not at all. A signed consent is
    attributable to whoever holds the key; an unsigned one is still bound to the response, whose
    proofs only the holder of the openings could make.
    """

    request_hash: bytes
    statements: tuple[int, ...]
    at: int
    customer_key: VerifyingKey | None = None
    signature: bytes | None = None

    def body(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "format": CONSENT_FORMAT,
            "request_hash": self.request_hash,
            "statements": list(self.statements),
            "at": self.at,
        }
        if self.customer_key is not None:
            obj["customer_key"] = self.customer_key.spki
        return obj

    def to_obj(self) -> dict[str, Any]:
        obj = self.body()
        if self.signature is not None:
            obj["signature"] = self.signature
        return obj

    def encode(self) -> bytes:
        return codec.encode(self.to_obj())

    def hash(self) -> bytes:
        """Hash of the whole record (signature included), bound into every proof context."""
        return digest(CONSENT_HASH, self.encode())

    @classmethod
    def create(
        cls,
        request: DisclosureRequest,
        statements: Iterable[int] | None = None,
        *,
        at: int | None = None,
        key: SigningKey | None = None,
    ) -> Consent:
        """Consent to ``statements`` (indices into the request; all of them by default)."""
        chosen = tuple(range(len(request.statements))) if statements is None else tuple(statements)
        if not chosen:
            raise UsageError("consent to at least one statement", obj=CONSENT_OBJ)
        if list(chosen) != sorted(set(chosen)):
            chosen = tuple(sorted(set(chosen)))
        for i in chosen:
            if not 0 <= i < len(request.statements):
                raise UsageError(
                    f"the request has no statement {i} (it has {len(request.statements)})",
                    obj=CONSENT_OBJ,
                    field="statements",
                )
        when = int(time.time()) if at is None else at
        unsigned = cls(request.hash(), chosen, when, key.public_key() if key else None, None)
        if key is None:
            return unsigned
        sig = key.sign(CONSENT_PURPOSE, codec.encode(unsigned.body()))
        return cls(unsigned.request_hash, chosen, when, unsigned.customer_key, sig)

    @classmethod
    def decode(cls, data: bytes) -> Consent:
        return cls.from_obj(codec.decode(data, CONSENT_OBJ, CONSENT_FORMAT, CONSENT_LIMITS))

    @classmethod
    def from_obj(cls, value: object, path: str = "", obj: str = CONSENT_OBJ) -> Consent:
        f = codec.Fields(
            value,
            obj,
            {"format", "request_hash", "statements", "at"},
            {"customer_key", "signature"},
            path=path,
        )
        if f.raw("format") != CONSENT_FORMAT:
            raise f.error("format", f"expected {CONSENT_FORMAT!r}")
        chosen = f.int_list("statements", 0, MAX_STATEMENTS - 1, 1, MAX_STATEMENTS)
        for j in range(1, len(chosen)):
            if chosen[j] <= chosen[j - 1]:
                raise f.error(f"statements[{j}]", "statement indices must be increasing")
        if f.has("customer_key") != f.has("signature"):
            missing = "signature" if f.has("customer_key") else "customer_key"
            raise f.error(missing, "customer_key and signature come together")
        key = None
        sig = None
        if f.has("customer_key"):
            try:
                key = VerifyingKey.from_spki(f.octets("customer_key", max_len=512))
            except KeyError_ as exc:
                raise f.error("customer_key", str(exc)) from None
            sig = f.octets("signature", SIGNATURE_BYTES)
        return cls(
            request_hash=f.octets("request_hash", DIGEST_BYTES),
            statements=tuple(chosen),
            at=f.time("at"),
            customer_key=key,
            signature=sig,
        )

    def verify_signature(self, path: str = "", obj: str = CONSENT_OBJ) -> None:
        """Check the customer's signature, if the record carries one."""
        if self.customer_key is None or self.signature is None:
            return
        if not self.customer_key.verify(CONSENT_PURPOSE, codec.encode(self.body()), self.signature):
            raise SignatureError(
                "customer signature does not verify",
                obj=obj,
                field=f"{path}.signature" if path else "signature",
            )

    def check(
        self,
        request: DisclosureRequest,
        request_hash: bytes,
        path: str,
        obj: str,
        customer_key: VerifyingKey | None = None,
    ) -> None:
        """Raise :class:`ConsentError` unless this consent answers ``request`` (its hash,
        statements that exist, a time in its lifetime), its signature verifies, and — given
        ``customer_key`` — that key signed it."""
        where = f"{path}." if path else ""
        if self.request_hash != request_hash:
            raise ConsentError(
                "consent was given to another request", obj=obj, field=f"{where}request_hash"
            )
        n = len(request.statements)
        for j, i in enumerate(self.statements):
            if i >= n:
                raise ConsentError(
                    f"consent to statement {i}, but the request has {n}",
                    obj=obj,
                    field=f"{where}statements[{j}]",
                )
        if not request.issued_at - CLOCK_SKEW_S <= self.at < request.expires:
            raise ConsentError(
                "consent given outside the request's lifetime", obj=obj, field=f"{where}at"
            )
        self.verify_signature(path, obj)
        if customer_key is not None and self.customer_key != customer_key:
            raise ConsentError(
                "consent is not signed by the expected customer key",
                obj=obj,
                field=f"{where}customer_key",
            )


# --- the response ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SealedEvidence:
    """A meter's certificate and the contiguous sealed runs that cover the disclosed intervals."""

    certificate: MeterCertificate
    runs: tuple[SealedRun, ...]

    @property
    def meter_id(self) -> str:
        return self.certificate.meter_id

    def to_obj(self) -> dict[str, Any]:
        return {"certificate": self.certificate.to_obj(), "runs": [r.to_obj() for r in self.runs]}


@dataclass(frozen=True, slots=True)
class SealReferences:
    """A meter's seals in the accompanying payment message, named by their chain hashes."""

    meter_id: str
    seals: tuple[bytes, ...]

    def to_obj(self) -> dict[str, Any]:
        return {"meter_id": self.meter_id, "seals": list(self.seals)}


MeterEvidence = SealedEvidence | SealReferences


@dataclass(frozen=True, slots=True)
class OpenedReadings:
    """Answer to ``open``: the value of each requested interval, in order, and a proof that
    they are the committed readings, bound to the statement's context."""

    statement: int
    values: tuple[int, ...]
    proof: bytes
    KIND: ClassVar[str] = "open"

    @property
    def kind(self) -> str:
        return self.KIND

    def __repr__(self) -> str:
        return f"OpenedReadings(statement={self.statement}, count={len(self.values)}, <values>)"

    def to_obj(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "statement": self.statement,
            "values": list(self.values),
            "proof": self.proof,
        }


@dataclass(frozen=True, slots=True)
class RevealedSum:
    """Answer to ``sum`` and ``weighted-sum``: the (weighted) total and a proof that it is what
    the (weighted) sum of the commitments holds, bound to the statement's context."""

    kind: Literal["sum", "weighted-sum"]
    statement: int
    value: int
    proof: bytes

    def __repr__(self) -> str:
        return f"RevealedSum({self.kind}, statement={self.statement}, <value>)"

    def to_obj(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "statement": self.statement,
            "value": self.value,
            "proof": self.proof,
        }


@dataclass(frozen=True, slots=True)
class RangeAnswer:
    """Answer to ``threshold``: aggregated range proofs on derived commitments, one per group of
    a power-of-two number of them (``docs/disclosure.md``)."""

    statement: int
    proofs: tuple[bytes, ...]
    KIND: ClassVar[str] = "threshold"

    @property
    def kind(self) -> str:
        return self.KIND

    def to_obj(self) -> dict[str, Any]:
        return {"kind": self.KIND, "statement": self.statement, "proofs": list(self.proofs)}


Answer = OpenedReadings | RevealedSum | RangeAnswer


def _answer_from_obj(value: object, path: str) -> Answer:
    obj = RESPONSE_OBJ
    if not isinstance(value, dict) or "kind" not in value:
        raise DecodeError("expected an answer map with a kind", obj=obj, field=path)
    cls = statement_class(value["kind"], "answer", obj, f"{path}.kind")
    return cls.decode_answer(value, path)


def _evidence_from_obj(value: object, path: str) -> MeterEvidence:
    if isinstance(value, dict) and "seals" in value:
        f = codec.Fields(value, RESPONSE_OBJ, {"meter_id", "seals"}, path=path)
        seals = f.array("seals", 1, 1 << 20)
        for i, h in enumerate(seals):
            if not isinstance(h, bytes) or len(h) != DIGEST_BYTES:
                raise f.error(f"seals[{i}]", f"expected a {DIGEST_BYTES}-byte seal chain hash")
        return SealReferences(f.text("meter_id", 64, is_identifier), tuple(seals))
    f = codec.Fields(value, RESPONSE_OBJ, {"certificate", "runs"}, path=path)
    cert = MeterCertificate.from_obj(f.raw("certificate"), f"{path}.certificate")
    return SealedEvidence(cert, tuple(f.each("runs", SealedRun.from_obj, 1)))


@dataclass(frozen=True, slots=True)
class DisclosureResponse:
    """The customer's answer to a request. ``bill_hash`` is set when the response accompanies a
    payment message; its meter evidence then names the bill's seals instead of repeating them."""

    request_hash: bytes
    consent: Consent
    meters: tuple[MeterEvidence, ...]
    answers: tuple[Answer, ...]
    bill_hash: bytes | None = None

    def __repr__(self) -> str:
        return (
            f"DisclosureResponse(request={self.request_hash[:8].hex()}, "
            f"answers={len(self.answers)}, attached={self.bill_hash is not None})"
        )

    def to_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "format": RESPONSE_FORMAT,
            "request_hash": self.request_hash,
            "consent": self.consent.to_obj(),
            "meters": [m.to_obj() for m in self.meters],
            "answers": [a.to_obj() for a in self.answers],
        }
        if self.bill_hash is not None:
            obj["bill_hash"] = self.bill_hash
        return obj

    def encode(self) -> bytes:
        return codec.encode(self.to_obj())

    @staticmethod
    def hash_of(encoded: bytes) -> bytes:
        return digest(RESPONSE_HASH, encoded)

    @classmethod
    def decode(cls, data: bytes) -> DisclosureResponse:
        f = codec.Fields(
            codec.decode(data, RESPONSE_OBJ, RESPONSE_FORMAT, RESPONSE_LIMITS),
            RESPONSE_OBJ,
            {"format", "request_hash", "consent", "meters", "answers"},
            {"bill_hash"},
        )
        consent = Consent.from_obj(f.raw("consent"), "consent", RESPONSE_OBJ)
        bill_hash = f.octets("bill_hash", DIGEST_BYTES) if f.has("bill_hash") else None
        meters = tuple(f.each("meters", _evidence_from_obj, 1, MAX_METERS))
        for k, m in enumerate(meters):
            if (bill_hash is None) != isinstance(m, SealedEvidence):
                raise f.error(
                    f"meters[{k}]",
                    "a response attached to a bill names its seals; a standalone one carries them",
                )
        return cls(
            request_hash=f.octets("request_hash", DIGEST_BYTES),
            consent=consent,
            meters=meters,
            answers=tuple(f.each("answers", _answer_from_obj, 1, MAX_STATEMENTS)),
            bill_hash=bill_hash,
        )
