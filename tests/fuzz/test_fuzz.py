"""Mutation fuzzing of every decoder and verifier with real messages (bounded, in the suite).

Each target starts from a real encoded message (``fuzz/corpus.py``) and gets one to three byte
or CBOR-aware mutations (``fuzz/mutate.py``); the only exceptions it may raise are typed
``privbill.errors`` ones, and a changed message must never verify as something else. The
examples are derandomized (the same inputs every run); ``PRIVBILL_FUZZ_EXAMPLES=N`` runs ``N``
fresh ones per target, and the coverage-guided run is ``tests/fuzz/atheris_fuzz.py``
(``docs/security.md`` §12).
"""

from __future__ import annotations

import contextlib
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.corpus import corpus
from fuzz.mutate import mutate
from fuzz.targets import Target, targets
from privbill.errors import PrivbillError

#: Examples per target: decoders are cheap, verifiers check proofs (tens of ms each).
#: ``PRIVBILL_FUZZ_EXAMPLES=N`` runs N fresh (random) examples per target instead.
LONG = int(os.environ.get("PRIVBILL_FUZZ_EXAMPLES", "0"))
DECODE_EXAMPLES = LONG or 60
VERIFY_EXAMPLES = LONG or 25


def _names() -> list[str]:
    # Target names without building the corpus at collection time.
    from hostile_cbor import decoders

    names = [f"decode {k}" for k in decoders()]
    for case in ("monthly", "interval", "lookup"):
        names += [f"verify_bill {case}", f"verify_bill tariff {case}"]
    names += [
        "disclosure.verify response",
        "disclosure.verify request",
        "verify_receipt",
        "certificate verify",
        "verify_bundle",
    ]
    return names


def _run(target: Target, seed: int) -> None:
    rng = random.Random(seed)
    c = corpus()
    data = mutate(rng.choice([*target.seeds[:1] * 4, *target.seeds]), rng, list(c.objects.values()))
    with contextlib.suppress(PrivbillError):
        target.run(data)


@pytest.mark.parametrize("name", _names())
def test_only_typed_errors_escape(name: str) -> None:
    target = targets(corpus())[name]
    examples = VERIFY_EXAMPLES if target.verifies else DECODE_EXAMPLES

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=not LONG,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.integers(0, 2**32 - 1))
    def check(seed: int) -> None:
        _run(target, seed)

    check()


def test_the_targets_are_all_listed() -> None:
    assert sorted(_names()) == sorted(targets(corpus()))


def test_honest_seeds_pass_every_target() -> None:
    """The unmutated messages verify (the fuzzing starts from valid inputs)."""
    for target in targets(corpus()).values():
        target.run(target.seeds[0])
