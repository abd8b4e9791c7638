from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privbill.crypto import group, pedersen
from privbill.crypto.group import FIELD_MODULUS, ORDER, FixedBase, GroupError

scalars = st.integers(min_value=0, max_value=ORDER - 1)


def test_generator_encoding_matches_standard() -> None:
    assert (
        group.encode_point(group.generator()).hex().startswith("97f1d3a73197d7942695638c4fa9ac0f")
    )


@settings(max_examples=25, deadline=None)
@given(scalars)
def test_point_roundtrip(k: int) -> None:
    p = group.mul(group.generator(), k or 1)
    data = group.encode_point(p)
    assert group.decode_point(data) == p
    assert group.decode_points_on_curve(data, 1) == [p]
    assert group.decode_points(data, 1) == [p]


def test_identity_refused_both_ways() -> None:
    with pytest.raises(GroupError):
        group.encode_point(group.identity())
    ident = bytes([0xC0]) + bytes(47)
    for dec in (group.decode_point, lambda d: group.decode_points_on_curve(d, 1)):
        with pytest.raises(GroupError, match="identity"):
            dec(ident)


def _noncanonical(point_bytes: bytes) -> bytes:
    flags = point_bytes[0] & 0xE0
    x = int.from_bytes(bytes([point_bytes[0] & 0x1F]) + point_bytes[1:], "big") + FIELD_MODULUS
    raw = bytearray(x.to_bytes(48, "big"))
    raw[0] |= flags
    return bytes(raw)


def _small_x_point() -> bytes:
    """A subgroup point whose x + p still fits in the 381 bits of the encoding."""
    for k in range(1, 200):
        data = group.encode_point(group.mul(group.generator(), k))
        x = int.from_bytes(bytes([data[0] & 0x1F]) + data[1:], "big")
        if x + FIELD_MODULUS < 2**381:
            return data
    raise AssertionError("no small-x point found")


def test_noncanonical_x_rejected() -> None:
    good = _small_x_point()
    bad = _noncanonical(good)
    assert bad[0] & 0xE0 == good[0] & 0xE0
    with pytest.raises(GroupError, match="non-canonical"):
        group.decode_point(bad)
    with pytest.raises(GroupError, match="non-canonical"):
        group.decode_points_on_curve(good + bad, 2)


def test_uncompressed_flag_and_length_rejected() -> None:
    good = group.encode_point(group.generator())
    with pytest.raises(GroupError, match="compressed"):
        group.decode_point(bytes([good[0] & 0x7F]) + good[1:])
    with pytest.raises(GroupError, match="48 bytes"):
        group.decode_point(good[:-1])
    with pytest.raises(GroupError, match="expected 2 points"):
        group.decode_points_on_curve(good, 2)


def _off_subgroup_point() -> bytes:
    """A canonical encoding of a curve point outside the prime-order subgroup."""
    for x in range(1, 1000):
        data = bytearray(x.to_bytes(48, "big"))
        data[0] |= 0x80
        try:
            group.decode_points_on_curve(bytes(data), 1)
        except GroupError:
            continue
        return bytes(data)
    raise AssertionError("no point found")


def test_subgroup_check() -> None:
    data = _off_subgroup_point()
    with pytest.raises(GroupError, match="subgroup"):
        group.decode_point(data)
    with pytest.raises(GroupError, match="subgroup"):
        group.decode_points(data, 1)
    assert len(group.decode_points_on_curve(data, 1)) == 1


def test_not_on_curve_rejected() -> None:
    for x in range(1, 1000):
        data = bytearray(x.to_bytes(48, "big"))
        data[0] |= 0x80
        try:
            group.decode_points_on_curve(bytes(data), 1)
        except GroupError as exc:
            assert "curve" in str(exc)
            with pytest.raises(GroupError):
                group.decode_point(bytes(data))
            return
    raise AssertionError("every x was on the curve")


def test_scalar_codec() -> None:
    assert group.decode_scalar(group.encode_scalar(ORDER - 1)) == ORDER - 1
    with pytest.raises(GroupError, match="non-canonical"):
        group.decode_scalar(ORDER.to_bytes(32, "big"))
    with pytest.raises(GroupError):
        group.decode_scalar(b"\x00" * 31)
    with pytest.raises(GroupError):
        group.encode_scalar(ORDER)


def test_msm_checks_lengths_and_matches_naive() -> None:
    g, h = pedersen.generator_g(), pedersen.generator_h()
    with pytest.raises(GroupError, match="length mismatch"):
        group.msm([g, h], [1])
    assert group.msm([g, h, g], [3, -2, 5]) == group.mul(g, 8) + group.mul(h, ORDER - 2)
    assert group.is_identity(group.msm([], []))


@settings(max_examples=30, deadline=None)
@given(scalars)
def test_fixed_base_matches_variable_base(k: int) -> None:
    h = pedersen.generator_h()
    table = FixedBase(h)
    assert table.mul(k) == group.mul(h, k)


def test_fixed_base_range() -> None:
    table = FixedBase(group.generator(), bits=16)
    assert table.mul(65535) == group.mul(group.generator(), 65535)
    with pytest.raises(GroupError):
        table.mul(65536)
    with pytest.raises(GroupError):
        FixedBase(group.generator(), bits=12)


def test_hash_to_point_domain_separated() -> None:
    a = group.hash_to_point(b"purpose-a", b"m")
    b = group.hash_to_point(b"purpose-b", b"m")
    assert a != b
    assert a == group.hash_to_point(b"purpose-a", b"m")
    assert a.is_in_subgroup()
    with pytest.raises(GroupError):
        group.hash_to_point(b"", b"m")


@settings(max_examples=30, deadline=None)
@given(st.integers(-(2**40), 2**40), scalars)
def test_pedersen_commit_homomorphic(v: int, r: int) -> None:
    c = pedersen.commit(v, r)
    assert pedersen.verify_opening(c, v, r)
    assert not pedersen.verify_opening(c, v + 1, r)
    assert pedersen.commit(v, r) + pedersen.commit(3, 5) == pedersen.commit(v + 3, r + 5)


def test_opening_repr_hides_secret() -> None:
    o = pedersen.Opening(5, 123456789)
    assert "123456789" not in repr(o)
    assert o.commitment() == pedersen.commit(5, 123456789)
