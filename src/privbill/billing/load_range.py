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


def load_bits(tariff_bits: int, certificates: Sequence[MeterCertificate], interval_s: int) -> int:
    """The range width for a bill whose load (at ``interval_s``, a multiple of every meter's
    interval) sums the meters of ``certificates``: the tariff's ``bits``, or fewer when the
    meters' ratings bound every interval below ``2^n`` for a smaller allowed ``n``."""
    if not certificates or any(c.rating_w is None for c in certificates):
        return tariff_bits
    top = sum(c.max_wh(interval_s) for c in certificates)
    for n in BIT_SIZES:
        if top < 1 << n:
            return min(n, tariff_bits)
    return tariff_bits
