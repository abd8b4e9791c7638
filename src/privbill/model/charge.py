"""The interface every charge component implements, and the registry of kinds.

A charge component (tiers, hours-use tiers, demand, minimum bill, lookup, block, polynomial) is
one class: it knows its kind tag, reads itself from the signed canonical form and from the JSON
description, writes both back, checks itself against the tariff, says what of the bill it
looks at, computes its fee in cleartext and describes itself in words. Its proof class (what a
payment message carries for it) registers under the same kind, and ``billing_module`` names the
module that proves and verifies it (``prove_charge`` / ``verify_charge`` there).

The registry is built once, in :mod:`privbill.model.components`; everything that used to ask
"which kind is this" (decoding, description, validation, the cleartext bill, proving and
verifying, the command line) loops over it or asks the component.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

from privbill.errors import UsageError

if TYPE_CHECKING:
    from privbill.billing.cleartext import ClearLoad


class ChargeComponent(ABC):
    """One tariff component. Subclasses are frozen dataclasses with a class-level ``kind``."""

    __slots__ = ()

    #: The tag written as ``kind`` in the canonical form, the description and the proof.
    kind: ClassVar[str]
    #: The module with ``prove_charge`` and ``verify_charge`` for this kind.
    billing_module: ClassVar[str]
    #: Settled on the bill of every other component (a minimum bill): proven and checked last.
    settles_last: ClassVar[bool] = False
    #: At most one component of this kind in a tariff.
    at_most_one: ClassVar[bool] = False
    #: What ``privbill explain`` says about each of its fees, when it has nothing to compute.
    explain_text: ClassVar[str] = ""

    @classmethod
    @abstractmethod
    def from_obj(cls, value: object, path: str) -> Self:
        """Read the signed canonical form (a :class:`DecodeError` names the field)."""

    @classmethod
    @abstractmethod
    def from_description(cls, d: dict[str, Any], name: str, where: str) -> Self:
        """Read the JSON description (a :class:`TariffError` names the field); ``name`` is
        already checked."""

    @abstractmethod
    def to_obj(self) -> dict[str, Any]:
        """The signed canonical form."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """A JSON-friendly view in decimal strings (the description form)."""

    @abstractmethod
    def describe_lines(self, number: int, period_names: Sequence[str], currency: str) -> list[str]:
        """The component in words, as ``privbill tariff show`` prints it."""

    @abstractmethod
    def validate(self, n_periods: int | None, where: str) -> None:
        """Check the component against the tariff (``n_periods``: time-of-use periods, or
        ``None`` for dynamic prices); a :class:`TariffError` names the field."""

    @property
    @abstractmethod
    def needs_load(self) -> bool:
        """Whether it looks at the account's load (every meter added, one interval length)."""

    @property
    @abstractmethod
    def needs_calendar_month(self) -> bool:
        """Whether a bill with it must cover one calendar month."""

    @abstractmethod
    def cleartext_fees(self, load: ClearLoad) -> list[tuple[str, int]]:
        """The fees in cleartext (10⁻⁹ currency), labelled; a component that settles last
        sees the rest of the bill as ``load.so_far``."""

    def explain(self, load: ClearLoad, unit: str) -> list[tuple[str, dict[str, Any]]]:
        """For each of its cleartext fees, what ``privbill explain`` says about it and the
        figures it adds to the JSON view (``unit``: a thousand of the meters' unit)."""
        return [(self.explain_text, {}) for _ in self.cleartext_fees(load)]


class ChargeProof(ABC):
    """What a payment message carries for one component; ``kind`` as the component's."""

    __slots__ = ()

    kind: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_obj(cls, value: object, path: str) -> Self:
        """Read the canonical form (a :class:`DecodeError` names the field)."""

    @abstractmethod
    def to_obj(self) -> dict[str, Any]:
        """The canonical form."""


class Registry:
    """The component kinds in their order, and each kind's proof class."""

    def __init__(self, classes: Iterable[type[ChargeComponent]]) -> None:
        self._components: dict[str, type[ChargeComponent]] = {}
        self._proofs: dict[str, type[ChargeProof]] = {}
        for cls in classes:
            if cls.kind in self._components:
                raise UsageError(
                    f"component kind {cls.kind!r} registered twice", obj="component kinds"
                )
            self._components[cls.kind] = cls

    def __iter__(self) -> Iterator[type[ChargeComponent]]:
        return iter(self._components.values())

    def kinds(self) -> list[str]:
        return list(self._components)

    def component(self, kind: object) -> type[ChargeComponent] | None:
        return self._components.get(kind) if isinstance(kind, str) else None

    def register_proof(self, cls: type[ChargeProof]) -> None:
        if cls.kind not in self._components:
            raise UsageError(
                f"no component kind {cls.kind!r} for the proof {cls.__name__}",
                obj="component kinds",
            )
        if cls.kind in self._proofs:
            raise UsageError(
                f"proof for the kind {cls.kind!r} registered twice", obj="component kinds"
            )
        self._proofs[cls.kind] = cls

    def proof(self, kind: object) -> type[ChargeProof] | None:
        return self._proofs.get(kind) if isinstance(kind, str) else None


__all__ = ["ChargeComponent", "ChargeProof", "Registry"]
