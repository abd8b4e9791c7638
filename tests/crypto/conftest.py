"""Fixtures of the cryptography tests: the specification test vectors.

The IRTF drafts and their JSON vectors live in the shared folder next to the repository
(``<repo>/../shared/specs``). Tests that need them are skipped, with the reason stated, when that
folder is absent; everywhere else (CI included) they run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SHARED_DIR = Path(__file__).resolve().parents[3] / "shared"
VECTORS_DIR = SHARED_DIR / "specs" / "vectors"
ABSENT_REASON = f"specification vectors not found: {VECTORS_DIR} (expected <repo>/../shared)"

Vector = dict[str, Any]


def load_vectors(name: str) -> list[Vector]:
    data: list[Vector] = json.loads((VECTORS_DIR / name).read_text(encoding="utf-8"))
    return data


def _function_is(*names: str) -> Callable[[Vector], bool]:
    return lambda v: v["Function"] in names


# fixture name -> (vector file, which vectors)
_VECTOR_FIXTURES: dict[str, tuple[str, Callable[[Vector], bool]]] = {
    "duplex_vector": ("fiatShamirShake128Vectors.json", _function_is("DuplexSponge")),
    "session_id_vector": ("fiatShamirShake128Vectors.json", _function_is("DeriveSessionID")),
    "squeeze_decode_vector": ("fiatShamirShake128Vectors.json", _function_is("DecodeUint")),
    "sumcheck_vector": ("fiatShamirShake128Vectors.json", _function_is("Sumcheck")),
    "codec_sumcheck_vector": ("fiatShamirCodecVectors.json", _function_is("Sumcheck")),
    "codec_vector": ("fiatShamirCodecVectors.json", lambda v: v["Function"] != "Sumcheck"),
    "sigma_vector": ("sigma-proofs_Shake128_BLS12381.json", _function_is("SigmaProof")),
    "adversarial_vector": (
        "sigma-proofs-invalid_Shake128_BLS12381.json",
        _function_is("SigmaProof"),
    ),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for fixture, (filename, keep) in _VECTOR_FIXTURES.items():
        if fixture not in metafunc.fixturenames:
            continue
        if not VECTORS_DIR.is_dir():
            absent = pytest.param(None, marks=pytest.mark.skip(reason=ABSENT_REASON))
            metafunc.parametrize(fixture, [absent], ids=["vectors-absent"])
            continue
        vectors = [v for v in load_vectors(filename) if keep(v)]
        if not vectors:
            raise RuntimeError(f"no vectors for {fixture} in {filename}")
        metafunc.parametrize(fixture, vectors, ids=[v["Id"] for v in vectors])


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    if not VECTORS_DIR.is_dir():
        pytest.skip(ABSENT_REASON)
    return VECTORS_DIR


@pytest.fixture(scope="session")
def valid_sigma_vectors(vectors_dir: Path) -> dict[str, Vector]:
    return {v["Id"]: v for v in load_vectors("sigma-proofs_Shake128_BLS12381.json")}


@pytest.fixture(scope="session")
def adversarial_sigma_vectors(vectors_dir: Path) -> list[Vector]:
    return load_vectors("sigma-proofs-invalid_Shake128_BLS12381.json")
