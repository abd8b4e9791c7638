"""Sigma protocols for linear relations: draft-irtf-cfrg-sigma-protocols, ciphersuite
``sigma-proofs_Shake128_BLS12381``.

A *linear relation* (the draft's ``LinearRelation``, here the compiled :class:`Instance`) is a list
of group elements, ``elements[0]`` being the generator ``G``, and a list of equations

    sum(coeff * elements[e] for (e, coeff) in image)
        == sum(coeff * witness[s] * elements[e] for (s, e, coeff) in terms)

The prover shows knowledge of a witness vector satisfying every equation. Statements are written
with :class:`LinearRelation`, in the draft's relation notation::

    rel = LinearRelation()
    m, r = rel.scalars("m", "r")
    H, C = rel.elements(H=pedersen.generator_h(), C=commitment)
    rel.equation(C, m * rel.G + r * H)
    proof = prove_batchable(tag, rel, rel.witness({m: value, r: blinding}))
    assert verify_batchable(tag, rel, proof)

Implemented from the draft: instance validation (all ten checks), ``SerializeLinearRelation`` and
its strict inverse, the interactive prover / verifier / simulator, ``DeriveChallenge``, batchable
and compact NARG strings, and batch verification with deterministic batching randomness (one
multi-scalar multiplication for the whole batch). Verifiers return ``False`` on every malformed
or invalid input; provers raise :class:`SigmaError`. The seeded generator of the draft's test-vector
appendix is :class:`SeededPrng`; production randomness comes from :mod:`secrets`.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Final, Protocol, overload

from privbill.crypto import group, transcript
from privbill.crypto.group import Point
from privbill.crypto.transcript import NE, NS, CodecError, Transcript
from privbill.errors import SigmaError as SigmaError

#: The ciphersuite identifier, included verbatim in every tag.
CIPHERSUITE_ID: Final = "sigma-proofs_Shake128_BLS12381"
#: ``DeriveSessionID`` input of the deterministic batching randomness.
BATCH_DOMAIN: Final = b"irtf-cfrg-sigma-protocols/batch-verify"
#: Bytes of batching randomness per equation (scalars uniform in ``[0, 2^128)``).
BATCH_RANDOMNESS_BYTES: Final = 16
#: Prefix of every privbill application tag.
TAG_PREFIX: Final = "privbill/v1/"

_Q: Final = group.ORDER
_U32: Final = 2**32
_GENERATOR: Final = group.generator()
_GENERATOR_BYTES: Final = group.encode_point(_GENERATOR)


@cache
def _generator_table() -> group.FixedBase:
    """Fixed-base multiples of the generator (built once, in about 10 ms)."""
    return group.FixedBase(_GENERATOR)


class Flavor(enum.Enum):
    """NARG string serialisation, named by the marker the tag must contain."""

    BATCHABLE = "DSFS"
    COMPACT = "CMPT"


# --- tags ----------------------------------------------------------------------------------

_PROTOCOL_RE: Final = re.compile(r"[a-z0-9][a-z0-9_/-]*\Z")
_MARKER_RE: Final = re.compile(r"[A-Z0-9]+\Z")


def application_tag(protocol: str, flavor: Flavor | str, context: bytes = b"") -> bytes:
    """The privbill tag of a proof system, an unambiguous US-ASCII string::

        privbill/v1/<protocol>-<flavor>-with-sigma-proofs_Shake128_BLS12381/ctx:<hex(context)>

    ``protocol`` is lower-case (``[a-z0-9_/-]``), the flavor marker upper-case, and the context
    (caller data such as meter, period and tariff identifiers, already encoded unambiguously by the
    caller) is hex-encoded after the only ``/ctx:`` of the tag, so distinct
    ``(protocol, flavor, context)`` triples give distinct tags.
    """
    marker = flavor.value if isinstance(flavor, Flavor) else flavor
    if not _PROTOCOL_RE.match(protocol):
        raise SigmaError(f"bad protocol name {protocol!r}")
    if not _MARKER_RE.match(marker):
        raise SigmaError(f"bad flavor marker {marker!r}")
    return (
        f"{TAG_PREFIX}{protocol}-{marker}-with-{CIPHERSUITE_ID}/ctx:{bytes(context).hex()}".encode(
            "ascii"
        )
    )


def _check_tag(tag: bytes, flavor: Flavor) -> None:
    other = Flavor.COMPACT if flavor is Flavor.BATCHABLE else Flavor.BATCHABLE
    if CIPHERSUITE_ID.encode() not in tag:
        raise SigmaError("the tag must contain the ciphersuite identifier")
    if flavor.value.encode() not in tag or other.value.encode() in tag:
        raise SigmaError(
            f"the tag must contain the flavor marker {flavor.value} (and not the other)"
        )


# --- compiled relations --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Equation:
    """One row of the linear map: ``image`` terms ``(element_index, coeff)`` on the left,
    ``terms`` ``(scalar_index, element_index, coeff)`` on the right. Coefficients are scalars
    in ``[0, q)``."""

    image: tuple[tuple[int, int], ...]
    terms: tuple[tuple[int, int, int], ...]

    def __post_init__(self) -> None:
        for e, c in self.image:
            if e < 0 or not 0 <= c < _Q:
                raise SigmaError("image term out of range")
        for s, e, c in self.terms:
            if s < 0 or e < 0 or not 0 <= c < _Q:
                raise SigmaError("term out of range")


_UNCHECKED: Final = "unchecked"


class Instance:
    """A compiled linear relation: the draft's ``LinearRelation`` (the statement of a proof).

    Immutable; its serialisation, element encodings, image and validity are computed once.
    """

    __slots__ = (
        "_bytes",
        "_encoded",
        "_generator_first",
        "_image",
        "_problem",
        "elements",
        "equations",
        "num_scalars",
    )

    elements: tuple[Point, ...]
    equations: tuple[Equation, ...]
    num_scalars: int

    def __init__(self, elements: Sequence[Point], equations: Sequence[Equation]) -> None:
        self.elements = tuple(elements)
        self.equations = tuple(equations)
        self.num_scalars = 1 + max((s for eq in self.equations for s, _, _ in eq.terms), default=-1)
        self._bytes: bytes | None = None
        self._encoded: tuple[bytes | None, ...] | None = None
        self._image: list[Point] | None = None
        self._problem: str | None = _UNCHECKED
        self._generator_first = bool(self.elements) and self.elements[0] == _GENERATOR

    @property
    def num_elements(self) -> int:
        return len(self.elements)

    @property
    def num_equations(self) -> int:
        return len(self.equations)

    def __repr__(self) -> str:
        return (
            f"Instance({self.num_elements} elements, {self.num_equations} equations, "
            f"{self.num_scalars} scalars)"
        )

    # -- encodings --

    def encoded_elements(self) -> tuple[bytes | None, ...]:
        """Compressed encoding of each element (``None`` for the identity)."""
        if self._encoded is None:
            out: list[bytes | None] = []
            for k, p in enumerate(self.elements):
                if k == 0 and self._generator_first:
                    out.append(_GENERATOR_BYTES)
                    continue
                try:
                    out.append(group.encode_point(p))
                except group.GroupError:
                    out.append(None)
            self._encoded = tuple(out)
        return self._encoded

    def to_bytes(self) -> bytes:
        """``SerializeLinearRelation(instance)``."""
        if self._bytes is None:
            le = transcript.le
            parts: list[bytes] = [le(len(self.equations), 4)]
            for eq in self.equations:
                parts.append(le(len(eq.image), 4))
                for e, c in eq.image:
                    parts.append(le(e, 4) + group.encode_scalar(c))
                parts.append(le(len(eq.terms), 4))
                for s, e, c in eq.terms:
                    parts.append(le(s, 4) + le(e, 4) + group.encode_scalar(c))
            encoded = self.encoded_elements()
            for raw in encoded[1:]:
                if raw is None:
                    raise SigmaError("cannot serialise an instance holding the identity element")
                parts.append(raw)
            self._bytes = b"".join(parts)
        return self._bytes

    @classmethod
    def from_bytes(cls, data: bytes) -> Instance:
        """Strict inverse of :meth:`to_bytes` for untrusted input.

        The number of elements is one more than the largest element index referenced, and the
        input must end exactly after that many encoded elements. Points are fully validated
        (the identity is refused). Structural checks of :meth:`validate` still apply.
        """
        data = bytes(data)
        pos = 0

        def take(n: int) -> bytes:
            nonlocal pos
            if len(data) - pos < n:
                raise SigmaError("truncated linear relation")
            out = data[pos : pos + n]
            pos += n
            return out

        def u32() -> int:
            return int.from_bytes(take(4), "little")

        def scalar() -> int:
            try:
                return group.decode_scalar(take(NS))
            except group.GroupError as exc:
                raise SigmaError(str(exc)) from None

        equations: list[Equation] = []
        max_element = 0
        n_eq = u32()
        if n_eq * 8 > len(data) - pos:
            raise SigmaError("equation count exceeds the input")
        for _ in range(n_eq):
            n_img = u32()
            if n_img * (4 + NS) > len(data) - pos:
                raise SigmaError("image-term count exceeds the input")
            image = []
            for _ in range(n_img):
                e = u32()
                image.append((e, scalar()))
                max_element = max(max_element, e)
            n_terms = u32()
            if n_terms * (8 + NS) > len(data) - pos:
                raise SigmaError("term count exceeds the input")
            terms = []
            for _ in range(n_terms):
                s = u32()
                e = u32()
                terms.append((s, e, scalar()))
                max_element = max(max_element, e)
            equations.append(Equation(tuple(image), tuple(terms)))
        rest = data[pos:]
        if len(rest) != max_element * NE:
            raise SigmaError(
                f"expected {max_element} group elements after the equations, got {len(rest)} bytes"
            )
        try:
            points = transcript.decode_points(rest, max_element)
        except CodecError as exc:
            raise SigmaError(str(exc)) from None
        return cls([group.generator(), *points], equations)

    # -- evaluation --

    def _combination(self, coefficients: Mapping[int, int]) -> Point:
        """``sum(c * elements[e])``: unit coefficients are additions, the generator uses a
        fixed-base table, everything else one multi-scalar multiplication."""
        pts: list[Point] = []
        scs: list[int] = []
        extra: list[Point] = []
        for e, c in coefficients.items():
            c %= _Q
            if not c:
                continue
            if c == 1:
                extra.append(self.elements[e])
            elif c == _Q - 1:
                extra.append(-self.elements[e])
            elif e == 0 and self._generator_first:
                extra.append(_generator_table().mul(c))
            else:
                pts.append(self.elements[e])
                scs.append(c)
        if not pts:
            return group.point_sum(extra)
        result = group.msm(pts, scs)
        return group.point_sum([result, *extra]) if extra else result

    def _row(self, i: int, scalars: Sequence[int], challenge: int) -> Point:
        """``map(scalars)[i] - challenge * image[i]`` as one multi-scalar multiplication."""
        eq = self.equations[i]
        acc: dict[int, int] = {}
        for s, e, c in eq.terms:
            acc[e] = acc.get(e, 0) + c * scalars[s]
        if challenge:
            for e, c in eq.image:
                acc[e] = acc.get(e, 0) - c * challenge
        return self._combination(acc)

    def map(self, scalars: Sequence[int]) -> list[Point]:
        """``map(instance, scalars)``: the linear map evaluated at a scalar vector."""
        if len(scalars) != self.num_scalars:
            raise SigmaError(f"expected {self.num_scalars} scalars, got {len(scalars)}")
        return [self._row(i, scalars, 0) for i in range(self.num_equations)]

    def image(self) -> list[Point]:
        """``image(instance)``: the left-hand side of every equation."""
        if self._image is None:
            rows = []
            for eq in self.equations:
                acc: dict[int, int] = {}
                for e, c in eq.image:
                    acc[e] = acc.get(e, 0) + c
                rows.append(self._combination(acc))
            self._image = rows
        return list(self._image)

    def is_satisfied_by(self, witness: Sequence[int]) -> bool:
        """``image == map(witness)`` (one MSM per equation)."""
        if len(witness) != self.num_scalars:
            return False
        return all(group.is_identity(self._row(i, witness, 1)) for i in range(self.num_equations))

    # -- validation --

    def _nonzero_combination(self, coefficients: Mapping[int, int]) -> bool:
        """Whether ``sum(c * elements[e])`` is not the identity, for non-identity elements of
        prime order: a single non-zero coefficient decides without group arithmetic."""
        nonzero = [e for e, c in coefficients.items() if c % _Q]
        if not nonzero:
            return False
        if len(nonzero) == 1:
            return True
        return not group.is_identity(self._combination(coefficients))

    def _find_problem(self) -> str | None:
        eqs = self.equations
        n_el = len(self.elements)
        if not eqs:
            return "check 1: no equation"
        if len(eqs) >= _U32:
            return "check 3: too many equations"
        used_elements: set[int] = set()
        used_scalars: set[int] = set()
        for eq in eqs:
            if not eq.image or not eq.terms:
                return "check 2: an equation has an empty image or empty terms"
            if len(eq.image) >= _U32 or len(eq.terms) >= _U32:
                return "check 3: too many terms"
            for e, _ in eq.image:
                if e >= _U32:
                    return "check 3: index too large"
                used_elements.add(e)
            for s, e, _ in eq.terms:
                if s >= _U32 or e >= _U32:
                    return "check 3: index too large"
                used_elements.add(e)
                used_scalars.add(s)
        if n_el == 0:
            return "check 7: no elements"
        if max(used_elements) >= n_el:
            return "check 4: element index out of range"
        if used_elements | {0} != set(range(n_el)):
            return "check 5: an element is not used by any equation"
        if used_scalars != set(range(self.num_scalars)):
            return "check 6: a scalar index is not used by any equation"
        encoded = self.encoded_elements()
        if encoded[0] != _GENERATOR_BYTES:
            return "check 7: elements[0] is not the generator"
        if any(raw is None for raw in encoded):
            return "check 8: an element is the identity"
        for eq in eqs:
            acc: dict[int, int] = {}
            for e, c in eq.image:
                acc[e] = acc.get(e, 0) + c
            if not self._nonzero_combination(acc):
                return "check 9: an image is the identity"
        for s in range(self.num_scalars):
            column_ok = False
            for eq in eqs:
                col: dict[int, int] = {}
                for s2, e, c in eq.terms:
                    if s2 == s:
                        col[e] = col.get(e, 0) + c
                if col and self._nonzero_combination(col):
                    column_ok = True
                    break
            if not column_ok:
                return f"check 10: column {s} of the linear map is the identity"
        return None

    def problem(self) -> str | None:
        """``None`` for a valid instance, else which check of the draft fails."""
        if self._problem == _UNCHECKED:
            self._problem = self._find_problem()
        return self._problem

    def is_valid(self) -> bool:
        """``ValidateInstance(instance)``."""
        return self.problem() is None

    def validate(self) -> None:
        """Raise :class:`SigmaError` unless the instance is valid."""
        problem = self.problem()
        if problem is not None:
            raise SigmaError(f"invalid instance ({problem})")


# --- statement notation --------------------------------------------------------------------


class ScalarVar:
    """A witness scalar of a :class:`LinearRelation` (optionally scaled by a public coefficient:
    ``3 * x`` is ``x`` with coefficient 3)."""

    __slots__ = ("coeff", "index", "name", "owner")

    def __init__(self, owner: LinearRelation, index: int, name: str, coeff: int = 1) -> None:
        self.owner = owner
        self.index = index
        self.name = name
        self.coeff = coeff

    def __repr__(self) -> str:
        return self.name if self.coeff == 1 else f"{self.coeff}*{self.name}"

    def _scaled(self, k: int) -> ScalarVar:
        return ScalarVar(self.owner, self.index, self.name, self.coeff * k)

    @overload
    def __mul__(self, other: int) -> ScalarVar: ...
    @overload
    def __mul__(self, other: ElementVar | Expr) -> Expr: ...
    def __mul__(self, other: int | ElementVar | Expr) -> ScalarVar | Expr:
        if isinstance(other, int):
            return self._scaled(other)
        if isinstance(other, ElementVar):
            other = other._expr()
        if isinstance(other, Expr):
            return other._times_scalar(self)
        return NotImplemented

    @overload
    def __rmul__(self, other: int) -> ScalarVar: ...
    @overload
    def __rmul__(self, other: ElementVar | Expr) -> Expr: ...
    def __rmul__(self, other: int | ElementVar | Expr) -> ScalarVar | Expr:
        return self.__mul__(other)

    def __neg__(self) -> ScalarVar:
        return self._scaled(-1)


class ElementVar:
    """A group element of a :class:`LinearRelation` (a statement element, or ``G``)."""

    __slots__ = ("index", "name", "owner")

    def __init__(self, owner: LinearRelation, index: int, name: str) -> None:
        self.owner = owner
        self.index = index
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def _expr(self) -> Expr:
        return Expr(self.owner, ((None, self.index, 1),))

    def __mul__(self, other: int | ScalarVar) -> Expr:
        return self._expr().__mul__(other)

    def __rmul__(self, other: int | ScalarVar) -> Expr:
        return self._expr().__mul__(other)

    def __add__(self, other: ElementVar | Expr) -> Expr:
        return self._expr() + other

    def __radd__(self, other: int | ElementVar | Expr) -> Expr:
        return self._expr().__radd__(other)

    def __sub__(self, other: ElementVar | Expr) -> Expr:
        return self._expr() - other

    def __rsub__(self, other: ElementVar | Expr) -> Expr:
        return (-self._expr()).__radd__(other)

    def __neg__(self) -> Expr:
        return -self._expr()


class Expr:
    """A linear combination of terms ``coeff * [scalar *] element``; terms keep the written order
    (``scalar`` is ``None`` for a constant term)."""

    __slots__ = ("owner", "terms")

    def __init__(
        self, owner: LinearRelation | None, terms: tuple[tuple[int | None, int, int], ...] = ()
    ) -> None:
        self.owner = owner
        self.terms = terms

    def __repr__(self) -> str:
        return f"Expr({self.terms!r})"

    def _join(self, other: ElementVar | Expr) -> tuple[LinearRelation | None, Expr]:
        other_expr = other._expr() if isinstance(other, ElementVar) else other
        if not isinstance(other_expr, Expr):
            raise TypeError(f"cannot combine a linear combination with {type(other).__name__}")
        if (
            self.owner is not None
            and other_expr.owner is not None
            and (self.owner is not other_expr.owner)
        ):
            raise SigmaError("symbols of two different relations cannot be combined")
        return self.owner if self.owner is not None else other_expr.owner, other_expr

    def __add__(self, other: ElementVar | Expr) -> Expr:
        owner, rhs = self._join(other)
        return Expr(owner, self.terms + rhs.terms)

    def __radd__(self, other: int | ElementVar | Expr) -> Expr:
        if isinstance(other, int):
            if other != 0:
                raise SigmaError("cannot add a non-zero integer to a group expression")
            return self
        owner, lhs = self._join(other)
        return Expr(owner, lhs.terms + self.terms)

    def __sub__(self, other: ElementVar | Expr) -> Expr:
        return self + (-(other._expr() if isinstance(other, ElementVar) else other))

    def __rsub__(self, other: ElementVar | Expr) -> Expr:
        return (-self).__radd__(other)

    def __neg__(self) -> Expr:
        return Expr(self.owner, tuple((s, e, -c) for s, e, c in self.terms))

    def _times_scalar(self, var: ScalarVar) -> Expr:
        if self.owner is not None and var.owner is not self.owner:
            raise SigmaError("symbols of two different relations cannot be combined")
        if any(s is not None for s, _, _ in self.terms):
            raise SigmaError("an equation must be linear in the witness")
        return Expr(var.owner, tuple((var.index, e, c * var.coeff) for _, e, c in self.terms))

    def __mul__(self, other: int | ScalarVar) -> Expr:
        if isinstance(other, bool):
            raise TypeError("booleans are not coefficients")
        if isinstance(other, int):
            return Expr(self.owner, tuple((s, e, c * other) for s, e, c in self.terms))
        if isinstance(other, ScalarVar):
            return self._times_scalar(other)
        return NotImplemented

    def __rmul__(self, other: int | ScalarVar) -> Expr:
        return self.__mul__(other)


class LinearRelation:
    """Builder for linear relations in the draft's notation.

    ``G`` (:attr:`G`) is the generator at element index 0. Witness scalars come from
    :meth:`scalar` / :meth:`scalars`, statement elements from :meth:`element` /
    :meth:`elements` / :meth:`element_vector`, in declaration order. Each call to
    :meth:`equation` adds ``lhs = rhs``: terms carrying a witness scalar compile to the
    right-hand side terms, constant terms to the image (negated when written on the right), in
    the order written, left-hand side first. Public scalar coefficients are Python integers
    (reduced modulo the group order), and ``r * (X1 - X2)`` distributes.
    """

    def __init__(self) -> None:
        self._scalar_names: list[str] = []
        self._element_names: list[str] = ["G"]
        self._element_values: list[Point | None] = [group.generator()]
        self._equations: list[Equation] = []
        self._names: set[str] = {"G"}
        self._element_index: dict[str, int] = {"G": 0}
        #: The group generator, element index 0.
        self.G = ElementVar(self, 0, "G")

    def _new_name(self, name: str) -> str:
        if not name or name in self._names:
            raise SigmaError(f"name {name!r} is empty or already declared")
        self._names.add(name)
        return name

    def scalar(self, name: str) -> ScalarVar:
        """Declare one witness scalar."""
        self._scalar_names.append(self._new_name(name))
        return ScalarVar(self, len(self._scalar_names) - 1, name)

    def scalars(self, *names: str) -> tuple[ScalarVar, ...]:
        """Declare witness scalars, in order."""
        return tuple(self.scalar(n) for n in names)

    def element(self, name: str, value: Point | None = None) -> ElementVar:
        """Declare one statement element (its value may be set later with :meth:`set_element`)."""
        self._element_names.append(self._new_name(name))
        self._element_values.append(value)
        self._element_index[name] = len(self._element_names) - 1
        return ElementVar(self, len(self._element_names) - 1, name)

    def elements(self, *names: str, **values: Point) -> tuple[ElementVar, ...]:
        """Declare statement elements: positional names are unassigned, keyword ones carry their
        value; positional ones first, then keywords in the order written."""
        out = [self.element(n) for n in names]
        out.extend(self.element(n, v) for n, v in values.items())
        return tuple(out)

    def element_vector(self, prefix: str, points: Sequence[Point]) -> list[ElementVar]:
        """Declare ``prefix_0, ..., prefix_{n-1}`` with the given values."""
        return [self.element(f"{prefix}_{i}", p) for i, p in enumerate(points)]

    def set_element(self, var: ElementVar, value: Point) -> None:
        if var.owner is not self or var.index == 0:
            raise SigmaError("not an assignable element of this relation")
        self._element_values[var.index] = value

    def equation(self, lhs: ElementVar | Expr, rhs: ElementVar | Expr) -> None:
        """Add the equation ``lhs = rhs``."""
        image: list[tuple[int, int]] = []
        terms: list[tuple[int, int, int]] = []
        for side, sign in ((lhs, 1), (rhs, -1)):
            expr = side._expr() if isinstance(side, ElementVar) else side
            if not isinstance(expr, Expr):
                raise TypeError("an equation side is a group expression")
            if expr.owner is not None and expr.owner is not self:
                raise SigmaError("symbols of another relation in this equation")
            for s, e, c in expr.terms:
                if s is None:
                    image.append((e, (sign * c) % _Q))
                else:
                    terms.append((s, e, (-sign * c) % _Q))
        if not image:
            raise SigmaError("an equation needs at least one constant (image) term")
        if not terms:
            raise SigmaError("an equation needs at least one witness term")
        self._equations.append(Equation(tuple(image), tuple(terms)))

    @property
    def scalar_names(self) -> tuple[str, ...]:
        return tuple(self._scalar_names)

    @property
    def element_names(self) -> tuple[str, ...]:
        return tuple(self._element_names)

    def compile(self) -> Instance:
        """The compiled :class:`Instance` (not yet validated)."""
        return self.instance()

    def instance(self, values: Mapping[ElementVar | str, Point] | None = None) -> Instance:
        """Compile with the given element values (by variable or name) filled in, leaving the
        builder unchanged: a relation declared once with unassigned elements serves as a
        template for many statements of the same shape."""
        current = list(self._element_values)
        for key, point in (values or {}).items():
            if isinstance(key, ElementVar):
                if key.owner is not self:
                    raise SigmaError("element of another relation")
                index = key.index
            else:
                index = self._element_index.get(key, 0)
            if index == 0:
                raise SigmaError(f"{key!r} is not an assignable element of this relation")
            current[index] = point
        missing = [n for n, v in zip(self._element_names, current, strict=True) if v is None]
        if missing:
            raise SigmaError(f"elements without a value: {', '.join(missing)}")
        return Instance([v for v in current if v is not None], self._equations)

    def witness(self, values: Mapping[ScalarVar | str, int]) -> list[int]:
        """The witness vector (ordered by scalar index) from a mapping of scalars or names."""
        by_name: dict[str, int] = {}
        for key, value in values.items():
            if isinstance(key, ScalarVar):
                if key.owner is not self or key.coeff != 1:
                    raise SigmaError("witness keys are the declared scalars of this relation")
                by_name[key.name] = value
            else:
                by_name[key] = value
        unknown = set(by_name) - set(self._scalar_names)
        if unknown:
            raise SigmaError(f"unknown witness scalars: {', '.join(sorted(unknown))}")
        missing = [n for n in self._scalar_names if n not in by_name]
        if missing:
            raise SigmaError(f"missing witness scalars: {', '.join(missing)}")
        return [by_name[n] % _Q for n in self._scalar_names]

    def __str__(self) -> str:
        """The relation in the draft's declaration syntax (coefficients as signed integers)."""

        def coeff_text(c: int, first: bool) -> tuple[str, str]:
            signed = group.signed_scalar(c)
            sign = "-" if signed < 0 else ("" if first else "+")
            mag = abs(signed)
            return sign, "" if mag == 1 else f"{mag} * "

        lines = [f"Relation({', '.join(self._element_names[1:])}):"]
        lines.append(f"  Witness: {', '.join(self._scalar_names)}")
        lines.append("  Equations:")
        for eq in self._equations:
            lhs: list[str] = []
            for k, (e, c) in enumerate(eq.image):
                sign, mag = coeff_text(c, k == 0)
                lhs.append(f"{sign} {mag}{self._element_names[e]}".strip())
            rhs: list[str] = []
            for k, (s, e, c) in enumerate(eq.terms):
                sign, mag = coeff_text(c, k == 0)
                rhs.append(
                    f"{sign} {mag}{self._scalar_names[s]} * {self._element_names[e]}".strip()
                )
            lines.append(f"    {' '.join(lhs)} = {' '.join(rhs)}")
        return "\n".join(lines)


RelationLike = LinearRelation | Instance


def as_instance(relation: RelationLike) -> Instance:
    """Compile a builder, or pass an :class:`Instance` through."""
    return relation.compile() if isinstance(relation, LinearRelation) else relation


# --- randomness ----------------------------------------------------------------------------


class ScalarRng(Protocol):
    """A source of uniformly random scalars."""

    def random_scalar(self) -> int: ...


class SystemRng:
    """``Group.random_scalar``: ``DecodeField`` of 48 bytes from the operating system's CSPRNG."""

    __slots__ = ()

    def random_scalar(self) -> int:
        return transcript.decode_challenge(secrets.token_bytes(transcript.CHALLENGE_BYTES))


SYSTEM_RNG: Final = SystemRng()


class SeededPrng:
    """The deterministic generator of the draft's test-vector appendix ("Seeded PRNG"): a duplex
    sponge initialised with ``DeriveSessionID(tag)``, each scalar being ``DecodeField`` of 48
    squeezed bytes.

    For reproducing test vectors only. Proofs made with it reveal the witness to anyone who knows
    the tag; production provers use :data:`SYSTEM_RNG`.
    """

    __slots__ = ("_sponge",)

    def __init__(self, tag: bytes) -> None:
        self._sponge = transcript.DuplexSponge(transcript.derive_session_id(tag))

    def random_scalar(self) -> int:
        return transcript.decode_challenge(self._sponge.squeeze(transcript.CHALLENGE_BYTES))


def vector_prng(relation: str, flavor: Flavor | None = None) -> SeededPrng:
    """The test-vector generator ``TestDRNG-SIGMA-PROOFS-[{flavor}-]{Ciphersuite}-{Relation}``:
    without a flavor it yields the instance and witness scalars, with one the prover nonces."""
    middle = f"{flavor.value}-" if flavor is not None else ""
    return SeededPrng(f"TestDRNG-SIGMA-PROOFS-{middle}{CIPHERSUITE_ID}-{relation}".encode())


# --- the interactive protocol --------------------------------------------------------------


class ProverState:
    """The prover's single-use secret state between commitment and response."""

    __slots__ = ("_nonces", "_used", "_witness")

    def __init__(self, witness: list[int], nonces: list[int]) -> None:
        self._witness = witness
        self._nonces = nonces
        self._used = False

    def __repr__(self) -> str:
        return "ProverState(<secret>)"

    def respond(self, challenge: int) -> list[int]:
        if self._used:
            raise SigmaError("prover state already used")
        self._used = True
        witness, nonces = self._witness, self._nonces
        if len(witness) != len(nonces):
            raise SigmaError("witness and nonces differ in length")
        c = challenge % _Q
        out = [(k + w * c) % _Q for k, w in zip(nonces, witness, strict=True)]
        self._witness = []
        self._nonces = []
        return out


def _witness_vector(instance: Instance, witness: Sequence[int]) -> list[int]:
    if len(witness) != instance.num_scalars:
        raise SigmaError(f"witness has {len(witness)} scalars, the relation {instance.num_scalars}")
    return [w % _Q for w in witness]


def prover_commit(
    relation: RelationLike, witness: Sequence[int], rng: ScalarRng = SYSTEM_RNG
) -> tuple[list[Point], ProverState]:
    """``ProverCommitment``: fresh nonces and ``commitment = map(nonces)``."""
    instance = as_instance(relation)
    instance.validate()
    w = _witness_vector(instance, witness)
    nonces = [rng.random_scalar() for _ in range(instance.num_scalars)]
    return instance.map(nonces), ProverState(w, nonces)


def prover_response(state: ProverState, challenge: int) -> list[int]:
    """``ProverResponse``: ``nonces + challenge * witness``; the state is then spent."""
    return state.respond(challenge)


def verifier(
    relation: RelationLike,
    commitment: Sequence[Point],
    challenge: int,
    response: Sequence[int],
) -> bool:
    """``Verifier``: ``map(response) == commitment + challenge * image``."""
    instance = as_instance(relation)
    if not instance.is_valid():
        return False
    if len(commitment) != instance.num_equations or len(response) != instance.num_scalars:
        return False
    return all(
        instance._row(i, response, challenge) == commitment[i]
        for i in range(instance.num_equations)
    )


def simulate_response(relation: RelationLike, rng: ScalarRng = SYSTEM_RNG) -> list[int]:
    """``SimulateResponse``: ``num_scalars`` uniformly random scalars."""
    instance = as_instance(relation)
    return [rng.random_scalar() for _ in range(instance.num_scalars)]


def simulate_commitment(
    relation: RelationLike, response: Sequence[int], challenge: int
) -> list[Point]:
    """``SimulateCommitment``: ``map(response) - challenge * image``."""
    instance = as_instance(relation)
    if len(response) != instance.num_scalars:
        raise SigmaError("response length does not match the relation")
    return [instance._row(i, response, challenge) for i in range(instance.num_equations)]


# --- non-interactive -----------------------------------------------------------------------


def derive_challenge(tag: bytes, relation: RelationLike, commitment_bytes: bytes) -> int:
    """``DeriveChallenge(tag, instance, commitment_bytes)``."""
    instance = as_instance(relation)
    t = Transcript.from_tag(tag)
    t.absorb_instance(instance.to_bytes())
    t.absorb_bytes(commitment_bytes)
    return t.challenge()


def _prove_common(
    tag: bytes,
    relation: RelationLike,
    witness: Sequence[int],
    rng: ScalarRng,
    check_witness: bool,
) -> tuple[bytes, int, list[int]]:
    instance = as_instance(relation)
    instance.validate()
    w = _witness_vector(instance, witness)
    if check_witness and not instance.is_satisfied_by(w):
        raise SigmaError("the witness does not satisfy the relation")
    commitment, state = prover_commit(instance, w, rng)
    try:
        commitment_bytes = transcript.encode_points(commitment)
    except CodecError:  # a nonce vector in the kernel: probability about 2^-255
        raise SigmaError("degenerate commitment; prove again") from None
    challenge = derive_challenge(tag, instance, commitment_bytes)
    return commitment_bytes, challenge, prover_response(state, challenge)


def prove_batchable(
    tag: bytes,
    relation: RelationLike,
    witness: Sequence[int],
    rng: ScalarRng = SYSTEM_RNG,
    *,
    check_witness: bool = True,
) -> bytes:
    """``ProveBatchable``: ``Group.serialize(commitment) || Scalar.serialize(response)``.

    With ``check_witness`` (the default) the prover first checks ``image == map(witness)`` and
    refuses to prove a false statement.
    """
    _check_tag(tag, Flavor.BATCHABLE)
    commitment_bytes, _, response = _prove_common(tag, relation, witness, rng, check_witness)
    return commitment_bytes + transcript.encode_scalars(response)


def prove_compact(
    tag: bytes,
    relation: RelationLike,
    witness: Sequence[int],
    rng: ScalarRng = SYSTEM_RNG,
    *,
    check_witness: bool = True,
) -> bytes:
    """``ProveCompact``: ``Scalar.serialize([challenge]) || Scalar.serialize(response)``."""
    _check_tag(tag, Flavor.COMPACT)
    _, challenge, response = _prove_common(tag, relation, witness, rng, check_witness)
    return transcript.encode_scalars([challenge, *response])


def verify_batchable(tag: bytes, relation: RelationLike, narg: bytes) -> bool:
    """``VerifyBatchable``: exact length, strict deserialisation, ``Verifier``.

    Each commitment element is checked by computing ``map(response)[i] - challenge * image[i]``
    and comparing its encoding with the received 48 bytes. This is the same decision as
    deserialising the element and comparing points: a byte string deserialises to a point ``P``
    exactly when it is the (unique) canonical encoding of the non-identity subgroup point ``P``.
    """
    _check_tag(tag, Flavor.BATCHABLE)
    try:
        instance = as_instance(relation)
    except SigmaError:
        return False
    if not instance.is_valid():
        return False
    n_eq, n_sc = instance.num_equations, instance.num_scalars
    if len(narg) != NE * n_eq + NS * n_sc:
        return False
    commitment_bytes = bytes(narg[: NE * n_eq])
    try:
        response = transcript.decode_scalars(narg[NE * n_eq :], n_sc)
    except CodecError:
        return False
    challenge = derive_challenge(tag, instance, commitment_bytes)
    for i in range(n_eq):
        expected = instance._row(i, response, challenge)
        if group.is_identity(expected):
            return False
        if group.encode_point(expected) != commitment_bytes[NE * i : NE * (i + 1)]:
            return False
    return True


def verify_compact(tag: bytes, relation: RelationLike, narg: bytes) -> bool:
    """``VerifyCompact``: recompute the commitment with the simulator, reject an identity
    element, and compare the re-derived challenge."""
    _check_tag(tag, Flavor.COMPACT)
    try:
        instance = as_instance(relation)
    except SigmaError:
        return False
    if not instance.is_valid():
        return False
    n_sc = instance.num_scalars
    if len(narg) != NS * (n_sc + 1):
        return False
    try:
        challenge, *response = transcript.decode_scalars(narg, n_sc + 1)
    except CodecError:
        return False
    commitment = simulate_commitment(instance, response, challenge)
    if any(group.is_identity(p) for p in commitment):
        return False
    return challenge == derive_challenge(tag, instance, transcript.encode_points(commitment))


def prove(
    tag: bytes,
    relation: RelationLike,
    witness: Sequence[int],
    flavor: Flavor = Flavor.BATCHABLE,
    rng: ScalarRng = SYSTEM_RNG,
) -> bytes:
    """:func:`prove_batchable` or :func:`prove_compact`."""
    if flavor is Flavor.BATCHABLE:
        return prove_batchable(tag, relation, witness, rng)
    return prove_compact(tag, relation, witness, rng)


def verify(
    tag: bytes, relation: RelationLike, narg: bytes, flavor: Flavor = Flavor.BATCHABLE
) -> bool:
    """:func:`verify_batchable` or :func:`verify_compact`."""
    if flavor is Flavor.BATCHABLE:
        return verify_batchable(tag, relation, narg)
    return verify_compact(tag, relation, narg)


def batch_verify(proofs: Iterable[tuple[bytes, RelationLike, bytes]]) -> bool:
    """Batch verification of batchable NARG strings ``(tag, relation, narg)``.

    Every instance is validated and every challenge derived with ``DeriveChallenge``; the
    batching randomness (16 bytes per equation, little-endian, in row-major order) is squeezed
    from a duplex sponge under ``DeriveSessionID("irtf-cfrg-sigma-protocols/batch-verify")``
    after absorbing each session identifier, serialised instance and NARG string. The verdict is
    one multi-scalar multiplication; statement elements shared between proofs are merged. An
    empty batch is valid; a rejected batch does not say which proof failed.
    """
    items = list(proofs)
    if len(items) >= _U32:
        return False
    if not items:
        return True
    sponge = transcript.init(transcript.derive_session_id(BATCH_DOMAIN))
    parsed: list[tuple[Instance, list[Point], int, list[int]]] = []
    for tag, relation, narg in items:
        _check_tag(tag, Flavor.BATCHABLE)
        try:
            instance = as_instance(relation)
        except SigmaError:
            return False
        if not instance.is_valid():
            return False
        n_eq, n_sc = instance.num_equations, instance.num_scalars
        if len(narg) != NE * n_eq + NS * n_sc:
            return False
        commitment_bytes = bytes(narg[: NE * n_eq])
        try:
            commitment = transcript.decode_points(commitment_bytes, n_eq)
            response = transcript.decode_scalars(narg[NE * n_eq :], n_sc)
        except CodecError:
            return False
        challenge = derive_challenge(tag, instance, commitment_bytes)
        sponge.absorb(transcript.derive_session_id(tag))
        sponge.absorb(instance.to_bytes())
        sponge.absorb(bytes(narg))
        parsed.append((instance, commitment, challenge, response))

    total = sum(inst.num_equations for inst, _, _, _ in parsed)
    randomness = sponge.squeeze(BATCH_RANDOMNESS_BYTES * total)
    points: list[Point] = []
    scalars: list[int] = []
    shared: dict[bytes, int] = {}  # element encoding -> position in points/scalars
    k = 0
    for instance, commitment, challenge, response in parsed:
        encoded = instance.encoded_elements()
        for j, eq in enumerate(instance.equations):
            rho = int.from_bytes(randomness[16 * k : 16 * (k + 1)], "little")
            k += 1
            points.append(commitment[j])
            scalars.append(rho)
            contributions: list[tuple[int, int]] = [(e, rho * challenge * c) for e, c in eq.image]
            contributions.extend((e, -rho * c * response[s]) for s, e, c in eq.terms)
            for e, value in contributions:
                key = encoded[e]
                assert key is not None  # valid instances hold no identity element
                pos = shared.get(key)
                if pos is None:
                    shared[key] = len(points)
                    points.append(instance.elements[e])
                    scalars.append(value)
                else:
                    scalars[pos] += value
    return group.is_identity(group.msm(points, [s % _Q for s in scalars]))
