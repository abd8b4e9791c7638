"""Every command of the README runs as written, and prints what the README shows.

The README's shell blocks are read line by line (a trailing backslash continues a line): lines
that start with ``privbill`` are run with ``bash`` in a fresh directory laid out like the
repository's root (``examples/`` inside it, ``../shared`` beside it) against the installed
package; the lines that follow a command without being one are its expected output (timings
aside). The Python block runs after them in the same directory. The two quick-start commands
install the package first: the demo one runs verbatim in a copy of the repository, the test one
is ``.ci/run``'s command, which CI runs. ``privbill --help``'s end-to-end example runs too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import shared_path
from privbill.cli import EXAMPLE

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
QUICK_DEMO = (
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[demo]' && .venv/bin/privbill demo"
)
QUICK_TESTS = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest -q"
TIMING = re.compile(r"\(verified in [0-9.]+ m?s\)")
QUICK_SERVICE = (
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[demo,service]' && "
    ".venv/bin/privbill demo --out demo-out/ && (.venv/bin/privbill serve --db "
    "sqlite:///demo-out/service.db --provider-key demo-out/provider.pem --publish-tariff "
    "demo-out/tariff.pbt --enrol-cert demo-out/meter-0001.cert 2> demo-out/service.log &)"
)
QUICK_SUBMIT = (
    ".venv/bin/privbill submit demo-out/bill.pbm --receipt-out demo-out/service-receipt.pbr"
)
QUICK_LIVE_INSTALL = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[demo,agent]'"
QUICK_LIVE = ".venv/bin/privbill demo --live --out live-out/"


def fenced(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```$", text, flags=re.S | re.M)


def logical_lines(block: str) -> list[str]:
    out: list[str] = []
    pending = ""
    for raw in block.splitlines():
        line = raw.rstrip()
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        out.append((pending + line.strip()).strip())
        pending = ""
    return [line for line in out if line]


def commands(text: str) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """``(command, expected output lines)`` of every ``privbill`` line, and the other commands."""
    runs: list[tuple[str, list[str]]] = []
    others: list[str] = []
    for block in fenced(text, "sh"):
        for line in logical_lines(block):
            if line.startswith("#"):
                continue
            if line.startswith("privbill "):
                runs.append((line, []))
            elif line.startswith(("python3 ", ".venv/bin/privbill ")):
                others.append(line)
            else:
                assert runs, f"output line before any command: {line!r}"
                runs[-1][1].append(line)
    return runs, others


def environment() -> dict[str, str]:
    """``privbill`` and ``python`` of the installed package first on the path."""
    bindir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "COLUMNS": "100",
    }


def normalise(text: str) -> str:
    return TIMING.sub("(verified in … s)", text.strip())


def layout(tmp: Path) -> Path:
    """A directory like the repository's root: examples/ inside, the shared data beside it."""
    shared = shared_path("data")  # skips clearly where the shared folder is absent
    work = tmp / "privbill"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    (tmp / "shared").symlink_to(shared.parent)
    return work


def run_all(cmds: list[tuple[str, list[str]]], cwd: Path) -> None:
    env = environment()
    for cmd, expected in cmds:
        proc = subprocess.run(
            ["bash", "-c", cmd],
            cwd=cwd,
            env=env,
            input="y\n",  # the disclosure asks before it discloses: the customer agrees
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr, proc.stderr
        shown = [normalise(line) for line in proc.stdout.splitlines()]
        for line in expected:
            assert normalise(line) in shown, f"{cmd}: expected {line!r} in\n{proc.stdout}"


def test_readme_commands_run_as_written(tmp_path: Path) -> None:
    runs, others = commands(README)
    assert len(runs) >= 20
    # Nothing is left out: the only other commands are the quick start's, tested below.
    assert others == [
        QUICK_DEMO,
        QUICK_TESTS,
        QUICK_SERVICE,
        QUICK_SUBMIT,
        QUICK_LIVE_INSTALL,
        QUICK_LIVE,
    ]
    work = layout(tmp_path)
    run_all(runs, work)
    (python,) = fenced(README, "python")
    proc = subprocess.run(
        [sys.executable, "-c", python],
        cwd=work,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "59.51 USD"  # the month the README's commands bill


def test_quick_start_test_command_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == QUICK_TESTS


def _copy_of_the_repository(copy: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode == 0 and listed.stdout:
        for name in listed.stdout.decode().split("\0"):
            if name and (ROOT / name).is_file():
                (copy / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, copy / name)
    else:  # not a git checkout: copy the tree without build products
        shutil.copytree(
            ROOT,
            copy,
            ignore=shutil.ignore_patterns(".venv", ".git", "*.egg-info", "__pycache__", ".*_cache"),
        )


@pytest.mark.slow
def test_quick_start_commands_verbatim(tmp_path: Path) -> None:
    """The README's demo command in a fresh copy of the repository (create the virtual
    environment, install with the demo extra, run the demo); then, in the same copy, the service
    quick start: install the service extra, make the demo's bill, start the service on SQLite in
    the background, and submit the bill, which comes back with a signed receipt."""
    copy = tmp_path / "privbill"
    _copy_of_the_repository(copy)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    proc = subprocess.run(
        ["bash", "-c", QUICK_DEMO], cwd=copy, env=env, capture_output=True, text=True, timeout=1800
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2976 readings" in proc.stdout and "VALID" in proc.stdout
    # The command leaves the service running in the background: its output goes to a file, not a
    # pipe this process would wait on until the service ends.
    log = tmp_path / "quick-start-service.out"
    with log.open("w") as out:
        serve = subprocess.run(
            ["bash", "-c", QUICK_SERVICE], cwd=copy, env=env, stdout=out, stderr=out,
            timeout=1800,
        )  # fmt: skip
    try:
        assert serve.returncode == 0, log.read_text()
        submit = subprocess.run(
            ["bash", "-c", QUICK_SUBMIT], cwd=copy, env=env, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        assert submit.returncode == 0, submit.stdout + submit.stderr
        assert "VALID" in submit.stdout and (copy / "demo-out" / "service-receipt.pbr").exists()
    finally:
        # Only this copy's service (its interpreter's path is in the command line): a pattern
        # of the command alone would end the same quick start of a run elsewhere on the machine.
        own = re.escape(str(copy / ".venv" / "bin")) + r"/python.*sqlite:///demo-out/service\.db"
        subprocess.run(["pkill", "-f", own], check=False)
    # The fourth quick start: meter, agent and service together, a bill arriving (two commands).
    live_env = {**env, "PRIVBILL_PROGRESS_DELAY": "1"}
    for cmd in (QUICK_LIVE_INSTALL, QUICK_LIVE):
        proc = subprocess.run(
            ["bash", "-c", cmd],
            cwd=copy,
            env=live_env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BILL  2026-01  account acct-42" in proc.stdout and "receipt verified" in proc.stdout


def test_help_example_runs(tmp_path: Path) -> None:
    """The end-to-end example at the end of ``privbill --help``."""
    lines = [line for line in EXAMPLE.split("\n\n")[0].splitlines()[1:]]
    cmds = [
        (re.sub(r"\s+#.*$", "", line), [])
        for line in logical_lines("\n".join(line.strip() for line in lines))
    ]
    assert [c.split()[1] for c, _ in cmds] == [
        "demo", "keygen", "tariff", "meter", "bill", "bill", "bill",
    ]  # fmt: skip
    run_all(cmds, layout(tmp_path))
