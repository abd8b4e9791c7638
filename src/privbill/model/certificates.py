"""Meter certificates: the provider's signed binding of a meter id to its key and account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from privbill.crypto.hashing import DIGEST_BYTES
from privbill.crypto.signatures import SIGNATURE_BYTES, KeyError_, SigningKey, VerifyingKey
from privbill.errors import CertificateError, SignatureError
from privbill.model import codec, money
from privbill.model.ids import is_identifier
from privbill.model.periods import MAX_INTERVAL_S, MIN_INTERVAL_S

FORMAT: Final = "privbill/meter-certificate/1"
PURPOSE: Final = "meter-certificate"
OBJ: Final = "meter certificate"
_FIELDS: Final = frozenset(
    {"format", "meter_id", "account", "public_key", "interval_s", "valid_from", "valid_until",
     "issuer", "signature"}
)  # fmt: skip


MAX_ATTRIBUTES: Final = 8
#: Decoding bounds: a flat map of ten fields and the attribute names.
LIMITS: Final = codec.Limits(depth=2, items=64, container=16)


def _check_attributes(names: list[Any], where: str) -> None:
    if not names or len(names) > MAX_ATTRIBUTES:
        if names:
            raise CertificateError(f"at most {MAX_ATTRIBUTES} attributes", obj=OBJ, field=where)
        return
    for i, n in enumerate(names):
        if not isinstance(n, str) or not is_identifier(n):
            raise CertificateError(
                "attribute names are identifiers", obj=OBJ, field=f"{where}[{i}]"
            )
    if len(set(names)) != len(names):
        raise CertificateError("attribute names must be distinct", obj=OBJ, field=where)


def _attributes_from(f: codec.Fields) -> tuple[str, ...]:
    if not f.has("attributes"):
        return ()
    names = f.array("attributes", 1, MAX_ATTRIBUTES)
    try:
        _check_attributes(names, "attributes")
    except CertificateError as exc:
        raise f.error("attributes", exc.detail) from None
    return tuple(names)


def _check_channel(channel: str | None) -> None:
    if channel is not None and not is_identifier(channel):
        raise CertificateError(
            "a channel name is an identifier (letters, digits, '.', '_', ':', '-')",
            obj=OBJ,
            field="channel",
        )


def max_rating_w(interval_s: int) -> int:
    """The largest rating a certificate may carry: one whose intervals still fit
    ``money.MAX_WH_PER_INTERVAL``."""
    return money.MAX_WH_PER_INTERVAL * 3600 // interval_s


def _check_rating(rating_w: int | None, interval_s: int) -> None:
    if rating_w is None:
        return
    top = max_rating_w(interval_s)
    if isinstance(rating_w, bool) or not isinstance(rating_w, int) or not 1 <= rating_w <= top:
        raise CertificateError(
            f"a rating is a whole number of watts in [1, {top}] for {interval_s // 60}-minute "
            f"intervals, got {rating_w!r}",
            obj=OBJ,
            field="rating_w",
        )


@dataclass(frozen=True, slots=True)
class MeterCertificate:
    meter_id: str
    account: str
    public_key: VerifyingKey
    interval_s: int
    valid_from: int  # UTC seconds, inclusive
    valid_until: int  # UTC seconds, exclusive
    issuer: bytes  # key id of the provider key that signed it
    signature: bytes
    attributes: tuple[str, ...] = ()  # names of the private attributes committed per interval
    #: What the meter counts, when the tariff prices it apart (a licensed feature, a register of
    #: a multi-channel meter); ``None``: the account's ordinary load.
    channel: str | None = None
    #: The meter's rated power in W (its nameplate or current-transformer rating): it signs no
    #: interval of more than :meth:`max_wh` Wh, and demand proofs size their ranges from it.
    #: ``None``: no rating (readings up to ``money.MAX_WH_PER_INTERVAL``).
    rating_w: int | None = None

    def max_wh(self, interval_s: int | None = None) -> int:
        """The most Wh the meter signs for one of its intervals, ``⌈rating_w · interval_s /
        3600⌉`` (``money.MAX_WH_PER_INTERVAL`` without a rating); with ``interval_s``, a
        multiple of the meter's own, the most its readings add up to over such an interval."""
        own = money.MAX_WH_PER_INTERVAL
        if self.rating_w is not None:
            own = -(-self.rating_w * self.interval_s // 3600)
        return own * ((interval_s or self.interval_s) // self.interval_s)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "format": FORMAT,
            "meter_id": self.meter_id,
            "account": self.account,
            "public_key": self.public_key.spki,
            "interval_s": self.interval_s,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "issuer": self.issuer,
        }
        if self.attributes:
            body["attributes"] = list(self.attributes)
        if self.channel is not None:
            body["channel"] = self.channel
        if self.rating_w is not None:
            body["rating_w"] = self.rating_w
        return body

    def to_obj(self) -> dict[str, Any]:
        return {**self.body(), "signature": self.signature}

    def encode(self) -> bytes:
        return codec.encode(self.to_obj())

    @classmethod
    def issue(
        cls,
        provider: SigningKey,
        *,
        meter_id: str,
        account: str,
        public_key: VerifyingKey,
        interval_s: int,
        valid_from: int,
        valid_until: int,
        attributes: tuple[str, ...] = (),
        channel: str | None = None,
        rating_w: int | None = None,
    ) -> MeterCertificate:
        if not is_identifier(meter_id):
            raise CertificateError(f"invalid meter id {meter_id!r}", obj=OBJ, field="meter_id")
        if not is_identifier(account):
            raise CertificateError(f"invalid account {account!r}", obj=OBJ, field="account")
        if valid_until <= valid_from:
            raise CertificateError("validity window is empty", obj=OBJ, field="valid_until")
        _check_attributes(list(attributes), "attributes")
        _check_channel(channel)
        _check_rating(rating_w, interval_s)
        unsigned = cls(meter_id, account, public_key, interval_s, valid_from, valid_until,
                       provider.public_key().key_id, b"", tuple(attributes), channel,
                       rating_w)  # fmt: skip
        sig = provider.sign(PURPOSE, codec.encode(unsigned.body()))
        return cls(meter_id, account, public_key, interval_s, valid_from, valid_until,
                   unsigned.issuer, sig, tuple(attributes), channel, rating_w)  # fmt: skip

    @classmethod
    def from_obj(cls, value: object, path: str = "") -> MeterCertificate:
        f = codec.Fields(value, OBJ, _FIELDS, {"attributes", "channel", "rating_w"}, path=path)
        if f.raw("format") != FORMAT:
            raise f.error("format", f"expected {FORMAT!r}")
        try:
            key = VerifyingKey.from_spki(f.octets("public_key", max_len=512))
        except KeyError_ as exc:
            raise f.error("public_key", str(exc)) from None
        interval = f.integer("interval_s", MIN_INTERVAL_S, MAX_INTERVAL_S)
        if 86400 % interval:
            raise f.error("interval_s", "interval length must divide a day")
        valid_from = f.time("valid_from")
        valid_until = f.time("valid_until")
        if valid_until <= valid_from:
            raise f.error("valid_until", "validity window is empty")
        rating_w = None
        if f.has("rating_w"):
            rating_w = f.integer("rating_w", 1, max_rating_w(interval))
        return cls(
            meter_id=f.text("meter_id", 64, is_identifier),
            account=f.text("account", 64, is_identifier),
            public_key=key,
            interval_s=interval,
            valid_from=valid_from,
            valid_until=valid_until,
            issuer=f.octets("issuer", DIGEST_BYTES),
            signature=f.octets("signature", SIGNATURE_BYTES),
            attributes=_attributes_from(f),
            channel=f.text("channel", 64, is_identifier) if f.has("channel") else None,
            rating_w=rating_w,
        )

    @classmethod
    def decode(cls, data: bytes) -> MeterCertificate:
        return cls.from_obj(codec.decode(data, OBJ, FORMAT, LIMITS))

    def verify(self, provider: VerifyingKey, path: str = "") -> None:
        """Raise unless the provider signed this certificate."""
        where = f"{path}.signature" if path else "signature"
        if self.issuer != provider.key_id:
            raise SignatureError(
                "certificate issued by another provider key",
                obj=OBJ,
                field=f"{path}.issuer" if path else "issuer",
            )
        if not provider.verify(PURPOSE, codec.encode(self.body()), self.signature):
            raise SignatureError("provider signature does not verify", obj=OBJ, field=where)

    def check_covers(self, start: int, end: int, path: str = "") -> None:
        if start < self.valid_from or end > self.valid_until:
            which = "valid_from" if start < self.valid_from else "valid_until"

            def utc(ts: int) -> str:
                return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")

            raise CertificateError(
                f"certificate is not valid for the whole billing period: it is valid from "
                f"{utc(self.valid_from)} until {utc(self.valid_until)}, the period runs from "
                f"{utc(start)} until {utc(end)}",
                obj=OBJ,
                field=f"{path}.{which}" if path else which,
            )
