"""How wide the range proofs over a bill's interval load are.

Demand and hours-use charges prove ``M − c_i ∈ [0, 2^n)`` for every interval ``i`` (``M`` the
committed peak). Soundness does not depend on ``n`` (any ``n`` far below the group order makes
``M ≥ c_i``); completeness does: ``n`` must hold the largest load an honest bill can have. The
tariff states ``n`` (``bits``, 32 by default: every reading a meter may sign). When every meter of
the bill carries a rating in its certificate (``rating_w``, signed by the provider), no interval
of the summed load exceeds the sum of the meters' :meth:`~MeterCertificate.max_wh`, because the
meters sign nothing above their rating; the bill then uses the narrowest allowed ``n`` that holds
that sum, if it is narrower than the tariff's. Prover and verifier compute it alike from the
certificates in the bill, so it needs no field of its own and no option.
"""

from __future__ import annotations

from collections.abc import Sequence

from privbill.crypto.bulletproofs import BIT_SIZES
from privbill.model.certificates import MeterCertificate


def meter_bound(cert: MeterCertificate) -> int | None:
    """The most Wh the meter signs for one of its intervals, ``None`` without a rating."""
    return None if cert.rating_w is None else cert.max_wh()


def bits_for(tariff_bits: int, bounds: Sequence[int | None]) -> int:
    """The range width for a load that sums meters whose intervals are bounded by ``bounds``
    (one per meter, at the load's interval length; ``None``: no rating): the tariff's ``bits``,
    or fewer when the sum of the bounds lies below ``2^n`` for a smaller allowed ``n``."""
    if not bounds or any(b is None for b in bounds):
        return tariff_bits
    top = sum(b for b in bounds if b is not None)
    for n in BIT_SIZES:
        if top < 1 << n:
            return min(n, tariff_bits)
    return tariff_bits


def load_bits(tariff_bits: int, certificates: Sequence[MeterCertificate], interval_s: int) -> int:
    """:func:`bits_for` the summed load of the meters of ``certificates`` at ``interval_s`` (a
    multiple of every meter's interval)."""
    bounds = [None if c.rating_w is None else c.max_wh(interval_s) for c in certificates]
    return bits_for(tariff_bits, bounds)
