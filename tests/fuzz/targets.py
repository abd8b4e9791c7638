"""Fuzz targets: each takes input bytes and runs a decoder or a verifier on them. A target may
raise only a typed :class:`privbill.errors.PrivbillError`; anything else (and a forgery that
verifies) is a bug. Shared by the Hypothesis tests and the atheris harness.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fuzz.corpus import Corpus
from hostile_cbor import decoders
from privbill import disclosure
from privbill.billing.receipts import verify_receipt
from privbill.billing.verifier import verify_bill
from privbill.dispute import verify_bundle
from privbill.model.certificates import MeterCertificate
from privbill.model.receipts import Receipt
from privbill.model.tariffs import SignedTariff


class Forgery(AssertionError):
    """A changed input that verified as something other than the honest message."""


@dataclass(frozen=True)
class Target:
    name: str
    seeds: tuple[bytes, ...]  # the real messages the mutations start from
    run: Callable[[bytes], object]
    verifies: bool  # whether the target checks proofs or signatures (slower)


def targets(c: Corpus) -> dict[str, Target]:
    out: dict[str, Target] = {}
    donors = tuple(c.objects.values())
    for kind, (_, decode) in decoders().items():
        out[f"decode {kind}"] = Target(f"decode {kind}", (c.objects[kind], *donors), decode, False)
    key = c.provider.public_key
    for name, case in c.cases.items():
        honest = c.bills[name]
        total = case.honest.total_fee

        def run_bill(
            data: bytes, case: object = case, honest: bytes = honest, total: int = total
        ) -> None:
            v = verify_bill(data, case.tariff, key)  # type: ignore[attr-defined]
            if data != honest and v.total_fee != total:
                raise Forgery(f"a changed bill verified with total {v.total_fee}, not {total}")

        out[f"verify_bill {name}"] = Target(f"verify_bill {name}", (honest,), run_bill, True)

        def run_tariff(data: bytes, case: object = case, honest: bytes = honest) -> None:
            tariff = SignedTariff.decode(data)
            verify_bill(honest, tariff, key)
            if data != case.tariff.encode():  # type: ignore[attr-defined]
                raise Forgery("a changed tariff verified the bill")

        out[f"verify_bill tariff {name}"] = Target(
            f"verify_bill tariff {name}", (case.tariff.encode(),), run_tariff, True
        )

    def run_response(data: bytes) -> None:
        disclosure.verify(data, c.request, key, now=c.now)
        if data != c.response:
            raise Forgery("a changed disclosure response verified")

    def run_request(data: bytes) -> None:
        disclosure.verify(c.response, data, key, now=c.now)
        if data != c.request:
            raise Forgery("a changed request verified the response")

    def run_receipt(data: bytes) -> None:
        verify_receipt(Receipt.decode(data), key, c.bills["monthly"])
        if data != c.receipt:
            raise Forgery("a changed receipt verified")

    def run_certificate(data: bytes) -> None:
        MeterCertificate.decode(data).verify(key)
        if data != c.objects["certificate"]:
            raise Forgery("a changed certificate verified")

    def run_bundle(data: bytes) -> None:
        v = verify_bundle(data, key)
        if v.total_fee != c.cases["monthly"].honest.total_fee:
            raise Forgery(f"a changed dispute bundle verified with total {v.total_fee}")

    for name, seed, run in (
        ("disclosure.verify response", c.response, run_response),
        ("disclosure.verify request", c.request, run_request),
        ("verify_receipt", c.receipt, run_receipt),
        ("certificate verify", c.objects["certificate"], run_certificate),
        ("verify_bundle", c.bundle, run_bundle),
    ):
        out[name] = Target(name, (seed,), run, True)
    return out
