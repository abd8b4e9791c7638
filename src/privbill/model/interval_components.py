"""Per-interval charges on bands of one interval's consumption: block and polynomial charges.

Both charge every interval on its own, by the band its consumption ``c`` (Wh in the interval,
all meters of the bill together) falls in. Bands ``[l_b, u_b)`` are contiguous from 0; the last
is unbounded or ends at a cap (a reading at or above the cap is outside the tariff).

* ``BlockCharge``: the whole interval at its band's price, ``p_b·c`` (not cumulative). Prices are
  in 10⁻⁶ currency per kWh, so ``p_b·c`` is a fee in 10⁻⁹ currency.
* ``PolynomialCharge``: within band ``b`` the interval's fee is ``Σ_k a_{b,k}·c^k`` (degree at
  most 3) with integer coefficients in 10⁻⁹ currency per Wh^k: every fee is an exact integer in
  10⁻⁹ currency. A description gives the coefficients in currency per kWh^k; one that does not
  convert to whole 10⁻⁹ currency per Wh^k is refused.

The fee of a component is the sum over the intervals of the period. ``privbill.billing.block``
and ``privbill.billing.polynomial`` prove the same value in zero knowledge, on the band table
:mod:`privbill.billing.bands` plans from a component.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final, Self, TypeVar

from privbill.crypto import group
from privbill.errors import DecodeError, ReadingError, TariffError
from privbill.model import codec, money
from privbill.model.charge import ChargeComponent, ChargeProof
from privbill.model.wording import band_lines, price_text

if TYPE_CHECKING:
    from privbill.billing.cleartext import ClearLoad

OBJ: Final = "tariff"
DESC: Final = "tariff description"
PROOF_OBJ: Final = "payment message"

MAX_BANDS: Final = 16
MAX_DEGREE: Final = 3
#: Band bounds in Wh per interval.
MAX_BAND_WH: Final = 2**40
#: Bit lengths of the range proof; bounded bands are at most 2^bits Wh wide.
BAND_BITS: Final = (8, 16, 32)
#: Coefficients in 10⁻⁹ currency per Wh^k (a block price is a degree-1 coefficient).
MAX_COEFFICIENT: Final = money.MAX_ABS_PRICE
#: Digits of a description's coefficient of c^k in currency per kWh^k: 10⁻¹² currency per Wh^k
#: is 10^(3k-12) currency per kWh^k.
COEFFICIENT_DIGITS: Final = (12, 9, 6, 3)

MAX_INTERVALS: Final = 1 << 20
#: Largest per-interval band proof: 16 clause commitments, 15 challenges, 16 responses.
MAX_BAND_PROOF_BYTES: Final = MAX_BANDS * (group.POINT_BYTES + 2 * group.SCALAR_BYTES)
MAX_POWER_PROOF_BYTES: Final = (
    MAX_DEGREE * group.POINT_BYTES + (MAX_DEGREE + 1) * group.SCALAR_BYTES
)
MAX_RANGE_PROOF_BYTES: Final = 1 << 20


# --- bands ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Band:
    """A block-charge band: up to ``up_to`` Wh per interval (exclusive; ``None``: unbounded) at
    ``price`` (10⁻⁶ currency per kWh)."""

    up_to: int | None
    price: int

    def to_obj(self) -> dict[str, Any]:
        return {"up_to": self.up_to, "price": self.price}


@dataclass(frozen=True, slots=True)
class PolynomialBand:
    """A polynomial-charge band: up to ``up_to`` Wh per interval (exclusive; ``None``:
    unbounded); the interval's fee is ``Σ_k coefficients[k]·c^k`` (10⁻⁹ currency per Wh^k)."""

    up_to: int | None
    coefficients: tuple[int, ...]

    def to_obj(self) -> dict[str, Any]:
        return {"up_to": self.up_to, "coefficients": list(self.coefficients)}


def evaluate(coefficients: Sequence[int], c: int) -> int:
    """``Σ_k coefficients[k]·c^k`` (Horner)."""
    acc = 0
    for a in reversed(coefficients):
        acc = acc * c + a
    return acc


def _band_of(uppers: Sequence[int | None], c: int, k: int) -> int:
    if c < 0:
        raise ReadingError("negative consumption", obj="readings", field=f"values[{k}]")
    for b, up in enumerate(uppers):
        if up is None or c < up:
            return b
    raise ReadingError(
        f"{c} Wh is at or above the last band's cap of {uppers[-1]} Wh",
        obj="readings",
        field=f"values[{k}]",
    )


def _check_bounds(uppers: Sequence[int | None], bits: int, where: str) -> None:
    if not 1 <= len(uppers) <= MAX_BANDS:
        raise TariffError(f"expected 1..{MAX_BANDS} bands", obj=OBJ, field=f"{where}.bands")
    if bits not in BAND_BITS:
        raise TariffError(f"bits must be one of {BAND_BITS}", obj=OBJ, field=f"{where}.bits")
    lower = 0
    for b, up in enumerate(uppers):
        w = f"{where}.bands[{b}]"
        if up is None:
            if b != len(uppers) - 1:
                raise TariffError("only the last band may be unbounded", obj=OBJ, field=w)
            continue
        if not lower < up <= MAX_BAND_WH:
            raise TariffError(
                f"band bounds must increase (up to {MAX_BAND_WH} Wh)", obj=OBJ, field=w
            )
        if up - lower > 1 << bits:
            raise TariffError(
                f"a band is at most 2^{bits} Wh wide (the proof's bit length)", obj=OBJ, field=w
            )
        lower = up


def _check_coefficients(coefficients: Sequence[int], where: str) -> None:
    if not 1 <= len(coefficients) <= MAX_DEGREE + 1:
        raise TariffError(
            f"expected 1..{MAX_DEGREE + 1} coefficients", obj=OBJ, field=f"{where}.coefficients"
        )
    for k, a in enumerate(coefficients):
        if abs(a) > MAX_COEFFICIENT:
            raise TariffError(
                "coefficient out of range", obj=OBJ, field=f"{where}.coefficients[{k}]"
            )


# --- components ----------------------------------------------------------------------------


class _BandedCharge(ChargeComponent):
    """What block and polynomial charges share: each interval of the account's load is charged
    by its own band, any billing period; decoding dispatches on the kind tag."""

    __slots__ = ()
    name: str

    @classmethod
    def from_obj(cls, value: object, path: str) -> Self:
        return _as(cls, from_obj(value, path))

    @classmethod
    def from_description(cls, d: dict[str, Any], name: str, where: str) -> Self:
        return _as(cls, from_description(d, where))

    def describe(self) -> dict[str, Any]:
        assert isinstance(self, BlockCharge | PolynomialCharge)
        return describe(self)

    @property
    def needs_load(self) -> bool:
        return True

    @property
    def needs_calendar_month(self) -> bool:
        return False

    def cleartext_fees(self, load: ClearLoad) -> list[tuple[str, int]]:
        return [(self.name, self.fee(load.load.values))]

    @abstractmethod
    def fee(self, values: Sequence[int]) -> int:
        """Σ over intervals of the interval's fee (10⁻⁹ currency)."""


@dataclass(frozen=True, slots=True)
class BlockCharge(_BandedCharge):
    """Each interval's consumption at the price of the band it falls in (not cumulative).
    ``bits`` is the range proof's bit length: bounded bands are at most 2^bits Wh wide, and a
    proof covers consumption in an unbounded last band below its lower bound + 2^bits."""

    kind: ClassVar[str] = "block"
    billing_module: ClassVar[str] = "privbill.billing.banded"
    explain_text: ClassVar[str] = "each interval priced by its own consumption band"

    name: str
    bands: tuple[Band, ...]
    bits: int = 16

    def describe_lines(self, number: int, period_names: Sequence[str], currency: str) -> list[str]:
        return [
            f"  {number}. block charge {self.name!r}: each interval by its own consumption",
            *band_lines([(b.up_to, f"{price_text(b.price)} {currency}/kWh") for b in self.bands]),
        ]

    def to_obj(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "bands": [b.to_obj() for b in self.bands],
            "bits": self.bits,
        }

    def validate(self, n_periods: int | None, where: str) -> None:
        _check_bounds([b.up_to for b in self.bands], self.bits, where)
        for b, band in enumerate(self.bands):
            if abs(band.price) > money.MAX_ABS_PRICE:
                raise TariffError("price out of range", obj=OBJ, field=f"{where}.bands[{b}].price")

    def fee(self, values: Sequence[int]) -> int:
        """Σ over intervals of the band price × the interval's consumption (10⁻⁹ currency)."""
        uppers = [b.up_to for b in self.bands]
        return sum(self.bands[_band_of(uppers, c, k)].price * c for k, c in enumerate(values))


@dataclass(frozen=True, slots=True)
class PolynomialCharge(_BandedCharge):
    """Each interval's fee is its band's polynomial of the interval's consumption."""

    kind: ClassVar[str] = "polynomial"
    billing_module: ClassVar[str] = "privbill.billing.banded"
    explain_text: ClassVar[str] = "each interval's fee a polynomial of its consumption"

    name: str
    bands: tuple[PolynomialBand, ...]
    bits: int = 16

    def describe_lines(self, number: int, period_names: Sequence[str], currency: str) -> list[str]:
        coefficients = [
            (b.up_to, "coefficients " + ", ".join(map(str, b.coefficients))) for b in self.bands
        ]
        return [
            f"  {number}. polynomial charge {self.name!r}: each interval by its consumption",
            *band_lines(coefficients),
        ]

    def to_obj(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "bands": [b.to_obj() for b in self.bands],
            "bits": self.bits,
        }

    def validate(self, n_periods: int | None, where: str) -> None:
        _check_bounds([b.up_to for b in self.bands], self.bits, where)
        for b, band in enumerate(self.bands):
            _check_coefficients(band.coefficients, f"{where}.bands[{b}]")

    def fee(self, values: Sequence[int]) -> int:
        """Σ over intervals of the band polynomial at the interval's consumption (10⁻⁹
        currency)."""
        uppers = [b.up_to for b in self.bands]
        return sum(
            evaluate(self.bands[_band_of(uppers, c, k)].coefficients, c)
            for k, c in enumerate(values)
        )


IntervalComponent = BlockCharge | PolynomialCharge
_C = TypeVar("_C", bound=ChargeComponent)


def _as(cls: type[_C], component: IntervalComponent) -> _C:
    """``component`` when it is of the kind ``cls`` (the kind tag chose ``cls``)."""
    assert isinstance(component, cls)
    return component


# --- canonical objects -------------------------------------------------------------------------


def _bound_from_obj(bf: codec.Fields) -> int | None:
    return None if bf.raw("up_to") is None else bf.integer("up_to", 1, MAX_BAND_WH)


def from_obj(value: object, path: str) -> IntervalComponent:
    """A block or polynomial charge from its canonical (tariff) object."""
    kind = value.get("kind") if isinstance(value, dict) else None
    if kind not in ("block", "polynomial"):
        raise DecodeError(
            f"not a block or polynomial charge: {kind!r}", obj=OBJ, field=f"{path}.kind"
        )
    f = codec.Fields(value, OBJ, {"kind", "name", "bands", "bits"}, path=path)
    name = f.text("name", 64)
    bits = f.integer("bits", 8, 64)
    items = f.array("bands", 1, MAX_BANDS)
    lim = MAX_COEFFICIENT
    if kind == "block":
        bands = []
        for b, item in enumerate(items):
            bf = codec.Fields(item, OBJ, {"up_to", "price"}, path=f"{path}.bands[{b}]")
            bands.append(Band(_bound_from_obj(bf), bf.integer("price", -lim, lim)))
        return BlockCharge(name, tuple(bands), bits)
    pbands = []
    for b, item in enumerate(items):
        bf = codec.Fields(item, OBJ, {"up_to", "coefficients"}, path=f"{path}.bands[{b}]")
        coefficients = bf.int_list("coefficients", -lim, lim, 1, MAX_DEGREE + 1)
        pbands.append(PolynomialBand(_bound_from_obj(bf), tuple(coefficients)))
    return PolynomialCharge(name, tuple(pbands), bits)


# --- JSON description ----------------------------------------------------------------------


def _check_keys(d: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for k in d:
        if k not in allowed:
            raise TariffError("unknown field", obj=DESC, field=f"{where}.{k}")


def _decimal(v: Any) -> str | int:
    if isinstance(v, float | bool) or not isinstance(v, str | int):
        raise money.AmountError(
            "write amounts as decimal strings, not JSON numbers with a fraction"
        )
    return v


def _energy(item: Mapping[str, Any], stem: str, where: str) -> tuple[bool, int | None]:
    """``(given, Wh)`` from ``<stem>_wh`` (whole Wh) or ``<stem>_kwh`` (at most 3 decimals)."""
    wh, kwh = f"{stem}_wh", f"{stem}_kwh"
    if wh in item and kwh in item:
        raise TariffError(f"give {wh} or {kwh}, not both", obj=DESC, field=f"{where}.{kwh}")
    key = wh if wh in item else kwh if kwh in item else None
    if key is None:
        return False, None
    raw = item[key]
    if raw is None:
        return True, None
    try:
        value = money.parse_scaled(_decimal(raw), 0 if key == wh else 3)
    except money.AmountError as exc:
        raise TariffError(str(exc), obj=DESC, field=f"{where}.{key}") from None
    return True, value


def _bands_from_desc(value: Any, where: str, payload: str) -> list[tuple[int | None, Any, str]]:
    """``(upper bound, payload value, band path)`` per band, bounds checked for contiguity."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_BANDS:
        raise TariffError(f"expected a list of 1..{MAX_BANDS} bands", obj=DESC, field=where)
    out: list[tuple[int | None, Any, str]] = []
    previous: int | None = 0
    allowed = {"from_wh", "from_kwh", "up_to_wh", "up_to_kwh", payload}
    for b, item in enumerate(value):
        w = f"{where}[{b}]"
        if not isinstance(item, dict):
            raise TariffError("expected an object", obj=DESC, field=w)
        _check_keys(item, allowed, w)
        if previous is None:
            raise TariffError("only the last band may be unbounded", obj=DESC, field=where)
        given, start = _energy(item, "from", w)
        if given and start != previous:
            raise TariffError(
                f"bands are contiguous: this one starts at {previous} Wh",
                obj=DESC,
                field=f"{w}.from_wh" if "from_wh" in item else f"{w}.from_kwh",
            )
        given, up = _energy(item, "up_to", w)
        if not given:
            raise TariffError("missing field", obj=DESC, field=f"{w}.up_to_wh")
        if payload not in item:
            raise TariffError("missing field", obj=DESC, field=f"{w}.{payload}")
        out.append((up, item[payload], w))
        previous = up
    return out


def from_description(d: Any, where: str) -> IntervalComponent:
    """A block or polynomial charge from a tariff description entry (``docs/tariff-format.md``
    shapes, detailed in ``docs/interval_components.md``); the result is validated."""
    if not isinstance(d, dict):
        raise TariffError("expected an object", obj=DESC, field=where)
    kind = d.get("kind")
    _check_keys(d, {"kind", "name", "bands", "bits"}, where)
    name = d.get("name", kind or "")
    if not isinstance(name, str) or len(name) > 64:
        raise TariffError("expected a name of up to 64 characters", obj=DESC, field=f"{where}.name")
    bits = d.get("bits", 16)
    if isinstance(bits, bool) or bits not in BAND_BITS:
        raise TariffError(f"bits must be one of {BAND_BITS}", obj=DESC, field=f"{where}.bits")
    component: IntervalComponent
    if kind == "block":
        bands = []
        for up, raw, w in _bands_from_desc(d.get("bands"), f"{where}.bands", "price"):
            try:
                price = money.parse_price(_decimal(raw))
            except money.AmountError as exc:
                raise TariffError(str(exc), obj=DESC, field=f"{w}.price") from None
            bands.append(Band(up, price))
        component = BlockCharge(name, tuple(bands), bits)
    elif kind == "polynomial":
        pbands = []
        for up, raw, w in _bands_from_desc(d.get("bands"), f"{where}.bands", "coefficients"):
            if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_DEGREE + 1:
                raise TariffError(
                    f"expected 1..{MAX_DEGREE + 1} coefficients (ascending powers)",
                    obj=DESC,
                    field=f"{w}.coefficients",
                )
            coefficients = []
            for k, text in enumerate(raw):
                try:
                    a = money.parse_scaled(_decimal(text), COEFFICIENT_DIGITS[k])
                except money.AmountError as exc:
                    raise TariffError(
                        f"{exc} (the coefficient of c^{k} is exact to "
                        f"10^-{COEFFICIENT_DIGITS[k]} currency per kWh^{k})",
                        obj=DESC,
                        field=f"{w}.coefficients[{k}]",
                    ) from None
                coefficients.append(a)
            pbands.append(PolynomialBand(up, tuple(coefficients)))
        component = PolynomialCharge(name, tuple(pbands), bits)
    else:
        raise TariffError(
            f"expected kind 'block' or 'polynomial', got {kind!r}", obj=DESC, field=f"{where}.kind"
        )
    try:
        component.validate(None, where)
    except TariffError as exc:
        raise TariffError(exc.detail, obj=DESC, field=exc.field) from None
    return component


def describe(c: IntervalComponent) -> dict[str, Any]:
    """A JSON-friendly view (decimal strings) for ``privbill tariff show``; it reads back with
    :func:`from_description`."""
    out: list[dict[str, Any]] = []
    lower = 0
    for band in c.bands:
        entry: dict[str, Any] = {
            "from_wh": str(lower),
            "up_to_wh": None if band.up_to is None else str(band.up_to),
        }
        if isinstance(band, Band):
            entry["price"] = money.format_scaled(band.price, money.PRICE_DIGITS)
        else:
            entry["coefficients"] = [
                money.format_scaled(a, COEFFICIENT_DIGITS[k])
                for k, a in enumerate(band.coefficients)
            ]
        out.append(entry)
        lower = band.up_to or lower
    return {"kind": c.kind, "name": c.name, "bits": c.bits, "bands": out}


# --- proof objects -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IntervalProof:
    """One interval's part of a block or polynomial charge proof (``None``: not carried).

    ``fee``, ``lower``, ``upper``: commitments to the interval's fee and to its band's bounds;
    ``band``: the band proof (batchable CDS OR, ``docs/interval_components.md``); ``powers``:
    commitments to ``c²`` (and ``c³``); ``power_proof``: that they hold the powers of the
    interval's consumption."""

    fee: bytes | None = None
    lower: bytes | None = None
    upper: bytes | None = None
    band: bytes | None = None
    powers: bytes | None = None
    power_proof: bytes | None = None

    def present(self) -> frozenset[str]:
        return frozenset(k for k in _INTERVAL_FIELDS if getattr(self, k) is not None)

    def to_obj(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _INTERVAL_FIELDS if getattr(self, k) is not None}


_INTERVAL_FIELDS: Final = ("fee", "lower", "upper", "band", "powers", "power_proof")
_PB: Final = group.POINT_BYTES


def _interval_from_obj(value: object, path: str, allowed: frozenset[str]) -> IntervalProof:
    f = codec.Fields(value, PROOF_OBJ, set(), allowed, path=path)
    out: dict[str, bytes] = {}
    for key in ("fee", "lower", "upper"):
        if f.has(key):
            out[key] = f.octets(key, _PB)
    if f.has("band"):
        out["band"] = f.octets("band", max_len=MAX_BAND_PROOF_BYTES)
    if f.has("powers"):
        powers = f.octets("powers", max_len=MAX_DEGREE * _PB)
        if len(powers) not in (_PB, 2 * _PB):
            raise f.error("powers", "expected one or two 48-byte commitments")
        out["powers"] = powers
    if f.has("power_proof"):
        out["power_proof"] = f.octets("power_proof", max_len=MAX_POWER_PROOF_BYTES)
    proof = IntervalProof(**out)
    keys = proof.present()
    if ("fee" in keys) != ("band" in keys):
        raise f.error("band" if "fee" in keys else "fee", "fee and band proof go together")
    if keys & {"lower", "upper"} and "band" not in keys:
        raise f.error("band", "band bounds need a band proof")
    if ("powers" in keys) != ("power_proof" in keys):
        raise f.error("power_proof" if "powers" in keys else "powers", "powers go with a proof")
    return proof


def _intervals_from_obj(f: codec.Fields, allowed: frozenset[str]) -> tuple[IntervalProof, ...]:
    items = f.array("intervals", 0, MAX_INTERVALS)
    out: list[IntervalProof] = []
    for i, item in enumerate(items):
        proof = _interval_from_obj(item, f"{f.path}.intervals[{i}]", allowed)
        if out and proof.present() != out[0].present():
            raise DecodeError(
                "every interval carries the same fields",
                obj=PROOF_OBJ,
                field=f"{f.path}.intervals[{i}]",
            )
        out.append(proof)
    return tuple(out)


_BLOCK_FIELDS: Final = frozenset({"fee", "lower", "upper", "band"})


@dataclass(frozen=True, slots=True)
class BlockProof(ChargeProof):
    """Per interval a fee commitment, band-bound commitments and a band proof; one range proof
    for all band bounds. Empty when every band has the same price and there is no cap."""

    intervals: tuple[IntervalProof, ...]
    ranges: bytes
    kind: ClassVar[str] = "block"

    def to_obj(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "intervals": [p.to_obj() for p in self.intervals],
            "ranges": self.ranges,
        }

    @classmethod
    def from_obj(cls, value: object, path: str) -> BlockProof:
        f = codec.Fields(value, PROOF_OBJ, {"kind", "intervals", "ranges"}, path=path)
        if f.raw("kind") != "block":
            raise f.error("kind", "expected 'block'")
        intervals = _intervals_from_obj(f, _BLOCK_FIELDS)
        if intervals and "fee" not in intervals[0].present():
            raise DecodeError("missing field", obj=PROOF_OBJ, field=f"{path}.intervals[0].fee")
        return cls(intervals, f.octets("ranges", max_len=MAX_RANGE_PROOF_BYTES))


@dataclass(frozen=True, slots=True)
class PolynomialProof(ChargeProof):
    """Per interval the power commitments and their proof, and (when the bands' polynomials
    differ or there is a cap) a fee commitment, band-bound commitments and a band proof; one
    range proof for all band bounds."""

    intervals: tuple[IntervalProof, ...]
    ranges: bytes
    kind: ClassVar[str] = "polynomial"

    def to_obj(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "intervals": [p.to_obj() for p in self.intervals],
            "ranges": self.ranges,
        }

    @classmethod
    def from_obj(cls, value: object, path: str) -> PolynomialProof:
        f = codec.Fields(value, PROOF_OBJ, {"kind", "intervals", "ranges"}, path=path)
        if f.raw("kind") != "polynomial":
            raise f.error("kind", "expected 'polynomial'")
        intervals = _intervals_from_obj(f, frozenset(_INTERVAL_FIELDS))
        if intervals and not intervals[0].present():
            raise DecodeError(
                "an interval carries no proof", obj=PROOF_OBJ, field=f"{path}.intervals[0]"
            )
        return cls(intervals, f.octets("ranges", max_len=MAX_RANGE_PROOF_BYTES))


IntervalComponentProof = BlockProof | PolynomialProof


def proof_from_obj(value: object, path: str) -> IntervalComponentProof:
    """A block or polynomial charge proof from its canonical (payment message) object."""
    kind = value.get("kind") if isinstance(value, dict) else None
    if kind == "block":
        return BlockProof.from_obj(value, path)
    if kind == "polynomial":
        return PolynomialProof.from_obj(value, path)
    raise DecodeError(
        f"not a block or polynomial charge proof: {kind!r}", obj=PROOF_OBJ, field=f"{path}.kind"
    )


__all__ = [
    "BAND_BITS",
    "Band",
    "BlockCharge",
    "BlockProof",
    "IntervalComponent",
    "IntervalComponentProof",
    "IntervalProof",
    "PolynomialBand",
    "PolynomialCharge",
    "PolynomialProof",
    "describe",
    "evaluate",
    "from_description",
    "from_obj",
    "proof_from_obj",
]
