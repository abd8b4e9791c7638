"""draft-irtf-cfrg-fiat-shamir: duplex sponge, session identifiers, codecs, the sumcheck example."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privbill.crypto import group, transcript
from privbill.crypto.transcript import (
    CodecError,
    DuplexSponge,
    NargReader,
    Transcript,
    byte_length,
    decode_field,
    decode_uint,
    derive_session_id,
    deserialize_field,
    deserialize_uint,
    deserialize_varlen,
    le,
    le2ip,
    serialize_field,
    serialize_uint,
    serialize_varlen,
)

Vector = dict[str, Any]
SID = bytes(range(32))


def _int(value: str | int) -> int:
    return value if isinstance(value, int) else int(value, 0)


def _run_operations(sponge: DuplexSponge, operations: list[dict[str, Any]]) -> bytes:
    out = b""
    for op in operations:
        if op["type"] == "absorb":
            sponge.absorb(bytes.fromhex(op["data"]))
        else:
            out += sponge.squeeze(op["length"])
    return out


# --- vectors -------------------------------------------------------------------------------


def test_duplex_sponge_vector(duplex_vector: Vector) -> None:
    assert duplex_vector["Hash"] == "SHAKE128"
    sponge = DuplexSponge(bytes.fromhex(duplex_vector["SessionId"]))
    assert _run_operations(sponge, duplex_vector["Operations"]).hex() == duplex_vector["Output"]


def test_derive_session_id_vector(session_id_vector: Vector) -> None:
    sid = derive_session_id(bytes.fromhex(session_id_vector["Tag"]))
    assert sid.hex() == session_id_vector["Output"]


def test_squeeze_and_decode_vector(squeeze_decode_vector: Vector) -> None:
    v = squeeze_decode_vector
    sponge = DuplexSponge(bytes.fromhex(v["SessionId"]))
    buf = _run_operations(sponge, v["Operations"])
    assert buf.hex() == v["Output"]
    assert decode_uint(buf, _int(v["Modulus"])) == _int(v["Challenge"])


def test_codec_vector(codec_vector: Vector) -> None:
    v = codec_vector
    function = v["Function"]
    rejected = v.get("Expected") == "reject"
    if function == "SerializeVarLenString":
        assert serialize_varlen(bytes.fromhex(v["Input"])).hex() == v["Output"]
        decoded, rest = deserialize_varlen(bytes.fromhex(v["Output"]))
        assert (decoded.hex(), rest) == (v["Input"], b"")
    elif function == "DeserializeVarLenString":
        assert rejected
        with pytest.raises(CodecError):
            deserialize_varlen(bytes.fromhex(v["Input"]))
    elif function == "SerializeUint":
        out = serialize_uint(_int(v["Value"]), _int(v["Modulus"]))
        assert out.hex() == v["Output"]
        assert deserialize_uint(out, _int(v["Modulus"])) == (_int(v["Value"]), b"")
    elif function == "DeserializeUint":
        assert rejected
        with pytest.raises(CodecError):
            deserialize_uint(bytes.fromhex(v["Input"]), _int(v["Modulus"]))
    elif function == "SerializeField":
        order = "big" if v.get("ByteOrder") == "big-endian" else "little"
        out = serialize_field([_int(v["Value"])], _int(v["Modulus"]), order)
        assert out.hex() == v["Output"]
    elif function == "DeserializeField":
        data = bytes.fromhex(v["Input"])
        if rejected:
            with pytest.raises(CodecError):
                deserialize_field(data, _int(v["Modulus"]), v["ExtensionDegree"])
        else:
            coords, rest = deserialize_field(data, _int(v["Modulus"]), v["ExtensionDegree"])
            assert rest == b""
            assert list(coords) == [_int(c) for c in v["Coordinates"]]
            assert serialize_field(coords, _int(v["Modulus"])) == data
    elif function == "DecodeUint":
        assert decode_uint(bytes.fromhex(v["Input"]), _int(v["Modulus"])) == _int(v["Challenge"])
    else:
        pytest.fail(f"unhandled codec vector function {function}")


# --- the sumcheck example of the draft's appendix ------------------------------------------


def sumcheck_prove(session_id: bytes, p: int, v: int, table: list[int]) -> tuple[bytes, int]:
    """``SumcheckProve`` of the draft's example appendix."""
    ns = byte_length(p)
    w = [x % p for x in table]
    state = DuplexSponge(session_id)
    state.absorb(serialize_uint(v, 2**32) + serialize_field([sum(w) % p], p))
    narg = b""
    for _ in range(v):
        a0 = sum(w[0::2]) % p
        a1 = (sum(w[1::2]) - a0) % p
        msg = serialize_field([a0, a1], p)
        state.absorb(msg)
        narg += msg
        r = le2ip(state.squeeze(ns)) % p
        w = [(w[i] + r * (w[i + 1] - w[i])) % p for i in range(0, len(w), 2)]
    return narg, w[0]


def sumcheck_verify(
    session_id: bytes, p: int, v: int, claimed: int, narg: bytes, y: int | None
) -> bool:
    """``SumcheckVerify``; ``y=None`` skips only the final evaluation check."""
    ns = byte_length(p)
    state = DuplexSponge(session_id)
    state.absorb(serialize_uint(v, 2**32) + serialize_field([claimed], p))
    s = claimed
    for _ in range(v):
        try:
            (a0, a1), narg = deserialize_field(narg, p, 2)
        except CodecError:
            return False
        if (2 * a0 + a1) % p != s:
            return False
        state.absorb(serialize_field([a0, a1], p))
        r = le2ip(state.squeeze(ns)) % p
        s = (a0 + a1 * r) % p
    if narg:
        return False
    return y is None or s == y


def _sumcheck_session(v: Vector) -> bytes:
    sid = bytes.fromhex(v["SessionId"])
    if "Tag" in v:
        assert derive_session_id(bytes.fromhex(v["Tag"])) == sid
    return sid


def test_sumcheck_vector(sumcheck_vector: Vector) -> None:
    v = sumcheck_vector
    p, n_vars, claimed = _int(v["Modulus"]), v["NumVariables"], _int(v["ClaimedSum"])
    sid = _sumcheck_session(v)
    narg = bytes.fromhex(v["Narg"])
    if v.get("Expected") == "reject":
        assert not sumcheck_verify(sid, p, n_vars, claimed, narg, None)
        assert sumcheck_verify(sid, p, n_vars, claimed, narg[: 8 * n_vars], None)
        return
    produced, final = sumcheck_prove(sid, p, n_vars, v["Witness"])
    assert produced.hex() == v["Narg"]
    assert final == _int(v["FinalEvaluation"])
    assert sum(v["Witness"]) % p == claimed
    assert sumcheck_verify(sid, p, n_vars, claimed, narg, final)
    assert not sumcheck_verify(sid, p, n_vars, claimed, narg, (final + 1) % p)


def test_codec_sumcheck_vector_rejected(codec_sumcheck_vector: Vector) -> None:
    v = codec_sumcheck_vector
    assert v["Expected"] == "reject"
    p, n_vars, claimed = _int(v["Modulus"]), v["NumVariables"], _int(v["ClaimedSum"])
    narg = bytes.fromhex(v["Narg"])
    assert not sumcheck_verify(_sumcheck_session(v), p, n_vars, claimed, narg, None)


# --- duplex sponge properties ----------------------------------------------------------------


def test_sponge_is_shake128_of_padded_input() -> None:
    sponge = DuplexSponge(SID)
    sponge.absorb(b"abc")
    expected = hashlib.shake_128(SID + bytes(136) + b"abc").digest(400)
    assert sponge.squeeze(100) + sponge.squeeze(300) == expected


def test_absorb_after_squeeze_continues_the_input_not_the_output() -> None:
    a = DuplexSponge(SID)
    a.absorb(b"x")
    a.squeeze(10)
    a.absorb(b"y")
    b = DuplexSponge(SID)
    b.absorb(b"xy")
    assert a.squeeze(32) == b.squeeze(32)


def test_copy_is_independent() -> None:
    base = DuplexSponge(SID)
    base.absorb(b"prefix")
    left, right = base.copy(), base.copy()
    left.absorb(b"L")
    right.absorb(b"R")
    assert left.squeeze(16) != right.squeeze(16)
    fresh = DuplexSponge(SID)
    fresh.absorb(b"prefix")
    assert base.squeeze(16) == fresh.squeeze(16)
    with pytest.raises(ValueError):
        base.copy()  # an open output stream is not copied


def test_init_cache_returns_fresh_states() -> None:
    first = transcript.init(SID)
    first.absorb(b"data")
    assert transcript.init(SID).squeeze(32) == DuplexSponge(SID).squeeze(32)


def test_session_id_must_be_32_bytes() -> None:
    with pytest.raises(CodecError):
        DuplexSponge(b"short")
    with pytest.raises(ValueError):
        DuplexSponge(SID).squeeze(-1)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=600), cut=st.integers(min_value=0, max_value=600))
def test_absorb_is_associative(data: bytes, cut: int) -> None:
    whole = DuplexSponge(SID)
    whole.absorb(data)
    split = DuplexSponge(SID)
    split.absorb(data[:cut])
    split.absorb(b"")
    split.absorb(data[cut:])
    assert whole.squeeze(48) == split.squeeze(48)


@settings(max_examples=60, deadline=None)
@given(chunks=st.lists(st.integers(min_value=0, max_value=400), max_size=6))
def test_squeeze_is_one_stream(chunks: list[int]) -> None:
    streamed = DuplexSponge(SID)
    streamed.absorb(b"stream")
    out = b"".join(streamed.squeeze(n) for n in chunks)
    once = DuplexSponge(SID)
    once.absorb(b"stream")
    assert out == once.squeeze(sum(chunks))


@settings(max_examples=30, deadline=None)
@given(tag_a=st.binary(max_size=80), tag_b=st.binary(max_size=80))
def test_session_ids_separate_tags(tag_a: bytes, tag_b: bytes) -> None:
    assert len(derive_session_id(tag_a)) == 32
    assert (derive_session_id(tag_a) == derive_session_id(tag_b)) == (tag_a == tag_b)


# --- codec properties ------------------------------------------------------------------------


@given(n=st.integers(min_value=0, max_value=2**64 - 1), extra=st.integers(0, 4))
def test_le_round_trip(n: int, extra: int) -> None:
    width = max(1, (n.bit_length() + 7) // 8) + extra
    assert le2ip(le(n, width)) == n
    assert len(le(n, width)) == width


def test_le_rejects_out_of_range() -> None:
    with pytest.raises(CodecError):
        le(256, 1)
    with pytest.raises(CodecError):
        le(-1, 4)


@given(modulus=st.integers(min_value=2, max_value=2**300), data=st.data())
def test_uint_round_trip_and_rejection(modulus: int, data: st.DataObject) -> None:
    x = data.draw(st.integers(min_value=0, max_value=modulus - 1))
    tail = data.draw(st.binary(max_size=4))
    encoded = serialize_uint(x, modulus)
    assert len(encoded) == byte_length(modulus)
    assert deserialize_uint(encoded + tail, modulus) == (x, tail)
    with pytest.raises(CodecError):
        deserialize_uint(encoded[:-1], modulus)
    too_big = modulus + data.draw(st.integers(min_value=0, max_value=2**16))
    if too_big < 256 ** byte_length(modulus):
        with pytest.raises(CodecError):
            deserialize_uint(too_big.to_bytes(byte_length(modulus), "little"), modulus)
    with pytest.raises(CodecError):
        serialize_uint(modulus, modulus)


@given(payload=st.binary(max_size=300), tail=st.binary(max_size=10))
def test_varlen_round_trip(payload: bytes, tail: bytes) -> None:
    encoded = serialize_varlen(payload)
    assert deserialize_varlen(encoded + tail) == (payload, tail)
    if payload:
        with pytest.raises(CodecError):
            deserialize_varlen(encoded[:-1])


@given(buf=st.binary(min_size=48, max_size=48))
def test_decode_field_lands_in_range(buf: bytes) -> None:
    (x,) = decode_field(buf, group.ORDER, 1)
    assert 0 <= x < group.ORDER
    assert x == transcript.decode_challenge(buf)


def test_decoders_check_length() -> None:
    with pytest.raises(CodecError):
        decode_uint(bytes(47), group.ORDER)
    with pytest.raises(CodecError):
        decode_field(bytes(48), group.ORDER, 2)
    assert decode_field(bytes(96), group.ORDER, 2) == (0, 0)


# --- ciphersuite codecs and the sequential interface ------------------------------------------


def test_scalar_codec_is_strict() -> None:
    assert transcript.encode_scalars([1]) == bytes(31) + b"\x01"
    assert transcript.decode_scalars(bytes(31) + b"\x01", 1) == [1]
    with pytest.raises(CodecError):
        transcript.decode_scalars(group.ORDER.to_bytes(32, "big"), 1)
    with pytest.raises(CodecError):
        transcript.decode_scalars(bytes(33), 1)
    with pytest.raises(CodecError):
        transcript.encode_scalars([group.ORDER])


def test_point_codec_is_strict() -> None:
    g = group.generator()
    raw = transcript.encode_points([g, g])
    assert len(raw) == 96
    assert transcript.decode_points(raw, 2) == [g, g]
    with pytest.raises(CodecError):
        transcript.encode_points([group.identity()])
    with pytest.raises(CodecError):
        transcript.decode_points(bytes([0xC0]) + bytes(47), 1)  # the identity
    with pytest.raises(CodecError):
        transcript.decode_points(raw[:-1], 2)


def test_transcript_enforces_instance_first() -> None:
    t = Transcript(SID)
    with pytest.raises(ValueError):
        t.absorb_bytes(b"message")
    with pytest.raises(ValueError):
        t.challenge()
    with pytest.raises(ValueError):
        t.absorb_instance(b"")
    t.absorb_instance(b"instance")
    with pytest.raises(ValueError):
        t.absorb_instance(b"again")
    encoded = t.absorb_scalars([5])
    assert encoded == transcript.encode_scalars([5])
    assert 0 <= t.challenge() < group.ORDER


def test_transcript_challenge_matches_manual_derivation() -> None:
    t = Transcript.from_tag(b"privbill-test")
    t.absorb_instance(b"inst")
    t.absorb_points([group.generator()])
    sponge = DuplexSponge(derive_session_id(b"privbill-test"))
    sponge.absorb(b"inst" + group.encode_point(group.generator()))
    assert t.challenge() == le2ip(sponge.squeeze(48)) % group.ORDER


def test_narg_reader_reads_in_order_and_rejects_trailing_bytes() -> None:
    g = group.generator()
    data = transcript.encode_points([g]) + transcript.encode_scalars([7, 8])
    reader = NargReader(data + b"\x00")
    points, raw = reader.read_points(1)
    assert points == [g] and raw == data[:48]
    assert reader.read_scalars(2) == [7, 8]
    with pytest.raises(CodecError):
        reader.finish()
    exact = NargReader(data)
    exact.read_bytes(len(data))
    exact.finish()
    with pytest.raises(CodecError):
        NargReader(data).read_scalars(3)
