"""Every benchmark in bench/ runs in its short mode, so a change that breaks one fails scripts/test.

Each runs as its launcher runs it (`python -m bench.<name> --short`, in this environment) and must
end with status 0. Its figures are printed (they show in the test's output), never compared with
a threshold: a few requests on a shared machine say nothing about speed, only that the benchmark
still measures. A benchmark added to bench/ without a short mode fails here too.
"""

from __future__ import annotations

from pathlib import Path
import subprocess
import sys
import time

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCHES = ["poll", "sip2", "access", "safety", "cover"]
NOT_BENCHES = {"__init__", "common"}  # bench/'s shared code


def test_every_benchmark_is_run_here() -> None:
    """Each bench/<name>.py with a launcher is in BENCHES."""
    found = {
        p.stem
        for p in (REPO / "bench").glob("*.py")
        if p.stem not in NOT_BENCHES and (REPO / "bench" / p.stem).exists()
    }
    assert found == set(BENCHES)


@pytest.mark.parametrize("bench", BENCHES)
def test_benchmark_runs_in_short_mode(
    bench: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bench/<name> --short` ends with status 0; its figures are printed."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{bench}", "--short"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    took = time.monotonic() - started
    with capsys.disabled():
        sys.stdout.write(
            f"\n--- bench/{bench} --short ({took:.0f} s) ---\n{result.stdout}"
        )
    assert result.returncode == 0, (
        f"bench/{bench} --short ended with status {result.returncode}:\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
