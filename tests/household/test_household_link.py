"""The meter link without a broker: HPKE sealing, message checks, and every way a message can be
refused — each refusal named, none of them changing the store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from household_helpers import Setup, ingest_all, make_setup, month_rows
from privbill.errors import (
    CommitmentError,
    LinkDecodeError,
    LinkDecryptError,
    LinkOrderError,
    LinkReplayError,
    OpeningError,
    SealChainError,
    SignatureError,
    UnknownMeterError,
)
from privbill.household import hpke, link
from privbill.household.ingest import Ingestor
from privbill.model import codec
from privbill.model.readings import Openings

PRISTINE: dict[str, bytes] = {}


@pytest.fixture()
def setup(tmp_path: Path) -> Setup:
    s = make_setup(tmp_path)
    PRISTINE[s.account] = s.home.store_path(s.account).read_bytes()
    return s


def restore(s: Setup) -> None:
    """Back to the store as made (each refusal is tried on a fresh store)."""
    path = s.home.store_path(s.account)
    for extra in ("-wal", "-shm"):
        Path(str(path) + extra).unlink(missing_ok=True)
    path.write_bytes(PRISTINE[s.account])


def store_digest(s: Setup) -> str:
    store = s.store()
    try:
        h = hashlib.sha256()
        for table in ("meters", "readings", "runs", "messages", "bills"):
            for row in store.db.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
                h.update(repr(row).encode())
        return h.hexdigest()
    finally:
        store.close()


def two_days(s: Setup, tmp: Path, batch: int = 48) -> list[tuple[int, str, int, bytes]]:
    ml = s.meter_link(tmp / "meter", batch=batch)
    rows = month_rows(s.tariff)[: 2 * 96]
    msgs: list[tuple[int, str, int, bytes]] = []
    for k in range(0, len(rows), batch):
        part = ml.build(rows[k : k + batch])
        ml.commit(part)
        msgs += part
    ml.close()
    return msgs


def resign(s: Setup, payload: bytes, **changes: object) -> bytes:
    """A message the meter itself signed with altered fields (a faulty or cheating meter)."""
    obj = codec.decode(payload, "x")
    del obj["signature"]
    obj.update(changes)
    return codec.encode({**obj, "signature": s.meter_key.sign(link.PURPOSE, codec.encode(obj))})


def test_hpke_info_binds_meter_and_message(setup: Setup) -> None:
    key = setup.home.key()
    info = hpke.openings_info("m1", 7, 100, 4, bytes(32))
    ct = hpke.seal(b"opening", key.public_key(), info)
    assert hpke.open_(ct, key, info) == b"opening"
    for other in (
        hpke.openings_info("m2", 7, 100, 4, bytes(32)),
        hpke.openings_info("m1", 8, 100, 4, bytes(32)),
        hpke.openings_info("m1", 7, 101, 4, bytes(32)),
        hpke.openings_info("m1", 7, 100, 4, bytes(31) + b"\x01"),
    ):
        with pytest.raises(hpke.DecryptError):
            hpke.open_(ct, key, other)
    with pytest.raises(hpke.DecryptError):
        hpke.open_(ct, hpke.generate(), info)
    flipped = bytearray(ct)
    flipped[-1] ^= 1
    with pytest.raises(hpke.DecryptError):
        hpke.open_(bytes(flipped), key, info)


def test_two_days_accepted_in_order_with_duplicates_ignored(setup: Setup, tmp_path: Path) -> None:
    msgs = two_days(setup, tmp_path)
    assert [k for _, k, _, _ in msgs].count("run") == 2
    store = setup.store()
    ing = Ingestor(store, setup.home.key())
    assert set(ingest_all(ing, setup.meter_id, msgs)) == {"accepted"}
    m = store.meter(setup.meter_id)
    assert m is not None and m.next_n == len(msgs) and m.next_seq == 2
    assert m.sealed_end == m.next_index == m.first_index + 192  # type: ignore[operator]
    rows = month_rows(setup.tariff)[:192]
    assert store.values(setup.meter_id, rows[0].index, rows[-1].index + 1) == [
        r.value for r in rows
    ]
    # at-least-once: everything again is a duplicate and changes nothing
    assert set(ingest_all(ing, setup.meter_id, msgs)) == {"duplicate"}
    store.close()


def test_out_of_order_messages_are_held_until_the_gap_fills(setup: Setup, tmp_path: Path) -> None:
    msgs = two_days(setup, tmp_path)
    store = setup.store()
    ing = Ingestor(store, setup.home.key())
    out = ingest_all(ing, setup.meter_id, msgs[2:])
    assert set(out) == {"held"}
    assert store.meter(setup.meter_id).next_n == 0  # type: ignore[union-attr]
    ingest_all(ing, setup.meter_id, msgs[:2])
    assert store.meter(setup.meter_id).next_n == len(msgs)  # type: ignore[union-attr]
    store.close()


def refused(s: Setup, prefix: list[tuple[int, str, int, bytes]], payload: bytes, error: type,
            field: str | None = None, meter_id: str | None = None) -> None:  # fmt: skip
    """``payload`` after ``prefix`` is refused with ``error`` and the store does not change."""
    restore(s)
    store = s.store()
    ing = Ingestor(store, s.home.key())
    ingest_all(ing, s.meter_id, prefix)
    store.close()
    before = store_digest(s)
    store = s.store()
    ing = Ingestor(store, s.home.key())
    with pytest.raises(error) as info, store.transaction():
        ing.handle(meter_id or s.meter_id, payload)
    store.close()
    if field is not None:
        assert info.value.field == field, info.value
    assert store_digest(s) == before


def test_tampered_messages_are_refused_by_name(setup: Setup, tmp_path: Path) -> None:
    msgs = two_days(setup, tmp_path)
    readings = msgs[0][3]
    obj = codec.decode(readings, "x")
    # anyone on the broker: every field altered without the meter's key
    for key, value in [
        ("n", obj["n"] + 1000),
        ("first", obj["first"] + 1),
        ("commitments", obj["commitments"][:-1] + bytes([obj["commitments"][-1] ^ 1])),
        ("sealed_openings", obj["sealed_openings"][:-1] + bytes([obj["sealed_openings"][-1] ^ 1])),
        ("signature", bytes(64)),
    ]:
        bad = codec.encode({**obj, key: value})
        refused(setup, [], bad, SignatureError, "signature")
    # not canonical, unknown field, missing field, wrong topic
    refused(setup, [], readings + b"\x00", LinkDecodeError)
    refused(setup, [], codec.encode({**obj, "extra": 1}), LinkDecodeError, "extra")
    refused(
        setup, [], codec.encode({k: v for k, v in obj.items() if k != "n"}), LinkDecodeError, "n"
    )
    refused(setup, [], readings, UnknownMeterError, meter_id="m-someone-else")


def test_forged_message_under_a_free_sequence_number(setup: Setup, tmp_path: Path) -> None:
    """An attacker encrypts its own openings to the agent (HPKE needs only the public key) and
    signs with its own key: refused; the meter's real message is then accepted."""
    msgs = two_days(setup, tmp_path)
    from privbill.crypto.signatures import SigningKey

    forger = SigningKey.generate()
    obj = codec.decode(msgs[0][3], "x")
    forged = link.ReadingsMessage.make(
        forger, setup.home.public_key(), meter_id=setup.meter_id, n=0, first=obj["first"],
        interval_s=900, commitments=obj["commitments"], openings=b"\xa0",
    )  # fmt: skip
    refused(setup, [], forged, SignatureError, "signature")


def test_replay_with_other_content_and_chain_errors(setup: Setup, tmp_path: Path) -> None:
    msgs = two_days(setup, tmp_path)
    r0 = msgs[0][3]
    # a message the meter signed, with n of one already received: a replay/fork, refused
    other = msgs[1][3] if msgs[1][1] == "readings" else msgs[2][3]
    replay = resign(setup, other, n=0)
    refused(setup, msgs[:1], replay, LinkReplayError, "n")
    # a readings message the meter signed whose openings do not decrypt for this message
    obj = codec.decode(other, "x")
    swapped = resign(setup, r0, sealed_openings=obj["sealed_openings"])
    refused(setup, [], swapped, LinkDecryptError, "sealed_openings")
    # openings that do not match the commitments (a meter sealing wrong openings)
    okey = setup.home.public_key()
    o = codec.decode(r0, "x")
    plain = hpke.open_(
        o["sealed_openings"], setup.home.key(), link.ReadingsMessage.decode(r0).info()
    )
    op = Openings.decode(plain)
    op.values[3] += 1
    ct = hpke.seal(op.encode(), okey, link.ReadingsMessage.decode(r0).info())
    refused(setup, [], resign(setup, r0, sealed_openings=ct), OpeningError, "commitments")
    # readings that skip intervals
    refused(
        setup, msgs[:1], resign(setup, other, n=1, first=o["first"] + 1000), LinkOrderError, "first"
    )
    # runs: skipped sequence number, wrong prev, other commitments, covering readings not received
    run_n = next(i for i, m in enumerate(msgs) if m[1] == "run")
    run = codec.decode(msgs[run_n][3], "x")
    seal = dict(run["run"]["seal"])
    del seal["signature"]

    def reseal(**changes: object) -> bytes:
        s2 = {**seal, **changes}
        sig = setup.meter_key.sign("seal", codec.encode(s2))
        return resign(setup, msgs[run_n][3], run={**run["run"], "seal": {**s2, "signature": sig}})

    refused(setup, msgs[:run_n], reseal(seq=5), SealChainError, "run.seal.seq")
    refused(setup, msgs[:run_n], reseal(prev=bytes(31) + b"\x01"), SealChainError, "run.seal.prev")
    refused(
        setup, msgs[:run_n], reseal(first=seal["first"] + 1), CommitmentError, "run.commitments"
    )


def test_run_over_unreceived_readings_is_held_then_checked(setup: Setup, tmp_path: Path) -> None:
    msgs = two_days(setup, tmp_path)
    store = setup.store()
    ing = Ingestor(store, setup.home.key())
    run_n = next(i for i, m in enumerate(msgs) if m[1] == "run")
    with store.transaction():
        assert ing.handle(setup.meter_id, msgs[run_n][3]) == "held"
    store.close()


def test_outage_run_with_a_reading_is_refused(setup: Setup, tmp_path: Path) -> None:
    ml = setup.meter_link(tmp_path / "m2", batch=96)
    rows = month_rows(setup.tariff)[:96]
    msgs = ml.build(rows)
    ml.close()
    run = codec.decode(msgs[1][3], "x")
    seal = dict(run["run"]["seal"])
    del seal["signature"]
    seal["outage"] = True
    sig = setup.meter_key.sign("seal", codec.encode(seal))
    bad = resign(setup, msgs[1][3], run={**run["run"], "seal": {**seal, "signature": sig}})
    refused(setup, msgs[:1], bad, OpeningError, "run.seal.outage")
    # and the commitments of a run must be those received with the readings
    other = setup.meter_link(tmp_path / "m3", batch=96)
    rows2 = [type(r)(r.index, r.value + 1) for r in rows]
    msgs2 = other.build(rows2)
    other.close()
    refused(setup, msgs[:1], resign(setup, msgs2[1][3], n=1), CommitmentError, "run.commitments")


def test_meter_restarts_from_its_committed_state_without_fork_or_gap(
    setup: Setup, tmp_path: Path
) -> None:
    """Killed after committing (nothing published): the restarted meter has the messages to
    publish again and continues; killed before committing: it measures the same readings again
    under the same numbers — either way one chain."""
    rows = month_rows(setup.tariff)[:300]
    ml = setup.meter_link(tmp_path / "meter", batch=50)
    first = ml.build(rows[:50])
    ml.commit(first)
    lost = ml.build(rows[50:100])  # built, never committed: the process dies here
    ml.db.close()
    ml = setup.meter_link(tmp_path / "meter", batch=50)
    unacked = ml.db.execute("SELECT n FROM archive WHERE acked = 0 ORDER BY n").fetchall()
    assert [n for (n,) in unacked] == [m[0] for m in first]
    again = ml.build(rows[50:100])
    assert [m[0] for m in again] == [m[0] for m in lost]  # the same numbers, no fork
    ml.commit(again)
    rest = ml.build(rows[100:])
    ml.commit(rest)
    ml.close()
    store = setup.store()
    ing = Ingestor(store, setup.home.key())
    assert set(ingest_all(ing, setup.meter_id, first + again + rest)) == {"accepted"}
    m = store.meter(setup.meter_id)
    assert m is not None and m.next_index == rows[-1].index + 1 and m.next_seq == 3
    assert store.values(setup.meter_id, rows[0].index, rows[-1].index + 1) == [
        r.value for r in rows
    ]
    store.close()


def test_clock_paces_readings() -> None:
    from privbill.household.meterlink import Clock

    fast = Clock(0)
    fast.anchor(1000)
    assert fast.due(10**9) == 0.0
    real = Clock(1)
    real.anchor(1000)
    assert real.due(5000) == 5000.0  # the wall clock itself
    acc = Clock(3600)
    acc.anchor(0)
    assert abs(acc.due(7200) - (acc._wall + 2.0)) < 1e-9  # two hours in two seconds
