"""The command line with corrupted input files: every run ends with exit status 1 (a
well-formed object that does not verify) or 2 (unreadable input), or 0 for a mutation that left
the file valid — never a traceback."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from fuzz.corpus import Corpus, corpus
from fuzz.mutate import mutate
from privbill.cli import main

RUNS = 12  # mutated files per command


def _files(c: Corpus, tmp: Path) -> dict[str, Path]:
    files = {
        "bill": c.bills["monthly"],
        "tariff": c.cases["monthly"].tariff.encode(),
        "receipt": c.receipt,
        "request": c.request,
        "response": c.response,
        "bundle": c.bundle,
        "provider": c.provider.public_key.to_pem(),
        "description": b'{"name": "x", "energy": {"kind": "time-of-use", "periods": []}}',
    }
    out = {}
    for name, data in files.items():
        out[name] = tmp / name
        out[name].write_bytes(data)
    return out


COMMANDS: dict[str, tuple[str, Callable[[dict[str, Path]], list[str]]]] = {
    "bill verify": (
        "bill",
        lambda f: ["bill", "verify", str(f["bill"]), "--tariff", str(f["tariff"]),
                   "--provider", str(f["provider"])],
    ),
    "bill verify (tariff)": (
        "tariff",
        lambda f: ["bill", "verify", str(f["bill"]), "--tariff", str(f["tariff"]),
                   "--provider", str(f["provider"])],
    ),
    "tariff show": ("tariff", lambda f: ["tariff", "show", str(f["tariff"]), "--provider", str(f["provider"])]),
    "tariff check": ("description", lambda f: ["tariff", "check", str(f["description"])]),
    "receipt verify": (
        "receipt",
        lambda f: ["receipt", "verify", str(f["receipt"]), "--provider", str(f["provider"]),
                   "--bill", str(f["bill"])],
    ),
    "disclose verify": (
        "response",
        lambda f: ["disclose", "verify", str(f["response"]), "--request", str(f["request"]),
                   "--provider", str(f["provider"]), "--at", "2026-03-01T02:00:00Z"],
    ),
    "dispute verify": ("bundle", lambda f: ["dispute", "verify", str(f["bundle"]), "--provider", str(f["provider"])]),
    "bill verify (provider key)": (
        "provider",
        lambda f: ["bill", "verify", str(f["bill"]), "--tariff", str(f["tariff"]),
                   "--provider", str(f["provider"])],
    ),
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_corrupted_files_never_print_a_traceback(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = corpus()
    files = _files(c, tmp_path)
    which, argv = COMMANDS[command]
    original = files[which].read_bytes()
    if which != "description":  # the unchanged files verify: the command line is right
        assert main(argv(files)) == 0, capsys.readouterr()
        capsys.readouterr()
    rng = random.Random(command)
    statuses = set()
    for _ in range(RUNS):
        files[which].write_bytes(mutate(original, rng, list(c.objects.values())))
        status = main([*argv(files), "--json"] if rng.random() < 0.5 else argv(files))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        assert status in (0, 1, 2), (command, status, err)
        statuses.add(status)
    assert statuses & {1, 2}, f"{command}: no corrupted file was refused"
