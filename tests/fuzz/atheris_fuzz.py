"""Coverage-guided fuzzing of every decoder and verifier with atheris (libFuzzer for Python).

The longer companion of ``tests/fuzz/test_fuzz.py``: the same targets (``fuzz/targets.py``) and
real messages (``fuzz/corpus.py``, here with the slow bill too: range-proven demand windows and
hours-use tiers), run in one process. An input's first byte picks the target, the rest is the
message; the custom mutator applies the CBOR-aware and byte mutations of ``fuzz/mutate.py``
half of the time and libFuzzer's own the other half, and libFuzzer keeps every input that
reaches new code. Anything but a typed ``privbill.errors`` error (or a changed message that
verifies as something else) stops the run with the input saved as ``crash-…``.

Run (atheris is not a test dependency: ``pip install atheris``)::

    python tests/fuzz/atheris_fuzz.py --stats fuzz-stats.json -max_total_time=900
    python tests/fuzz/atheris_fuzz.py --only "decode bill" -runs=100000
    nice -n 19 python tests/fuzz/atheris_fuzz.py --no-slow -max_total_time=60

Options of this script come first; everything else goes to libFuzzer. ``--stats FILE`` keeps
the count of inputs run per target (written every 500 inputs and at exit).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports(include=["privbill"]):
    import privbill.billing.verifier
    import privbill.disclosure
    import privbill.dispute  # noqa: F401
    from privbill.errors import PrivbillError

import contextlib

from fuzz.corpus import corpus
from fuzz.mutate import mutate
from fuzz.targets import Target, targets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", help="targets whose name contains this")
    ap.add_argument("--no-slow", action="store_true", help="without the slow bill")
    ap.add_argument("--stats", help="write the count of inputs per target here")
    ap.add_argument("--corpus", help="libFuzzer's corpus folder (default: a temporary one)")
    args, rest = ap.parse_known_args()

    c = corpus(slow=not args.no_slow)
    chosen: list[Target] = [
        t
        for name, t in sorted(targets(c).items())
        if not args.only or any(o in name for o in args.only)
    ]
    donors = list(c.objects.values())
    counts: Counter[str] = Counter()

    def save() -> None:
        if args.stats:
            Path(args.stats).write_text(json.dumps(dict(sorted(counts.items())), indent=2))

    def test_one_input(data: bytes) -> None:
        if not data:
            return
        target = chosen[data[0] % len(chosen)]
        counts[target.name] += 1
        if sum(counts.values()) % 500 == 0:
            save()
        with contextlib.suppress(PrivbillError):
            target.run(data[1:])

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        if not data:
            data = b"\x00"
        if rng.random() < 0.5:
            target = chosen[data[0] % len(chosen)]
            body = mutate(data[1:], rng, [*target.seeds, *donors])
            return (data[:1] + body)[:max_size]
        return atheris.Mutate(data, max_size)

    replay = [a for a in rest if not a.startswith("-") and Path(a).is_file()]
    if replay:  # run saved inputs (a crash-… file) once each, with the same targets
        libfuzzer = [sys.argv[0], *rest]
    else:
        folder = Path(args.corpus or tempfile.mkdtemp(prefix="privbill-fuzz-"))
        folder.mkdir(parents=True, exist_ok=True)
        largest = 0
        for i, t in enumerate(chosen):
            for k, seed in enumerate(t.seeds[:1]):
                (folder / f"seed-{i:02d}-{k}").write_bytes(bytes([i]) + seed)
                largest = max(largest, len(seed) + 1)
        libfuzzer = [sys.argv[0], *rest, str(folder)]
        if not any(a.startswith("-max_len=") for a in rest):
            libfuzzer.insert(1, f"-max_len={2 * largest}")
        print(f"fuzzing {len(chosen)} targets from {folder}", flush=True)
    import atexit

    atexit.register(save)
    atheris.Setup(libfuzzer, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
