"""A demand window proven from a meter-certified register instead of a range proof.

In a demand proof (``model/component_proofs.py``), a window proven by register carries
``{"register": i, "tiers": …}`` in place of ``{"peak", "ranges", "tiers"}``: ``i`` indexes the
registers of the bill's (single) meter section, and the window's ``C_M`` is that register's
commitment for the window, in the schedule whose hash matches the demand component. ``tiers``
is as for a range-proven window (tier parts of the demand for several tiers, else ``null``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from privbill.model import codec

if TYPE_CHECKING:
    from privbill.model.component_proofs import PartsProof

OBJ: Final = "payment message"
MAX_REGISTERS: Final = 16  # registers per meter section (model/bills.py)
FIELDS: Final = frozenset({"register", "tiers"})


@dataclass(frozen=True, slots=True)
class RegisterWindowProof:
    register: int  # index into the meter section's registers
    tiers: PartsProof | None

    def to_obj(self) -> dict[str, Any]:
        return {
            "register": self.register,
            "tiers": None if self.tiers is None else self.tiers.to_obj(),
        }

    @classmethod
    def from_obj(cls, value: object, path: str) -> RegisterWindowProof:
        from privbill.model.component_proofs import PartsProof  # the module imports this one

        f = codec.Fields(value, OBJ, FIELDS, path=path)
        tiers = f.raw("tiers")
        return cls(
            f.integer("register", 0, MAX_REGISTERS - 1),
            None if tiers is None else PartsProof.from_obj(tiers, f"{path}.tiers"),
        )


def is_register_window(value: object) -> bool:
    """Whether a decoded window entry is the register form (it has a ``register`` field)."""
    return isinstance(value, dict) and "register" in value
