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
