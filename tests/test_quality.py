"""Lint, format and type checks run as part of the suite, so CI enforces them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> list[str]:
    exe = Path(sys.executable).with_name(name)
    if exe.exists():
        return [str(exe)]
    found = shutil.which(name)
    assert found, f"{name} is not installed (pip install -e '.[test]')"
    return [found]


@pytest.mark.slow
def test_ruff_lint_and_format() -> None:
    for args in (
        ["check", "src", "tests", "benchmarks"],
        ["format", "--check", "src", "tests", "benchmarks"],
    ):
        proc = subprocess.run([*_tool("ruff"), *args], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_mypy_strict_core() -> None:
    proc = subprocess.run(_tool("mypy"), cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_benchmark_imports() -> None:
    """Benchmarks run by hand, so nothing else notices when a module they import moves: each
    one (and the shared harness) must import in a fresh interpreter, as ``python
    benchmarks/NAME.py`` would."""
    bench = ROOT / "benchmarks"
    names = sorted(p.stem for p in bench.glob("*.py"))
    assert "harness" in names and len(names) > 10
    code = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(bench)!r})\n"
        "for name in sys.argv[1:]:\n"
        "    importlib.import_module(name)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *names], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
