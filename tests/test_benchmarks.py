"""The benchmark harness runs (CI smoke test): a table and a JSON come out. No timing claims."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow  # a fresh Python process (imports, JIT) takes 4-30 s
def test_bench_tiny(tmp_path):
    p = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "bench.py"), "--tiny", "--out",
         str(tmp_path), "--contenders", "lstm_np-numba", "lstm_np-numpy", "torch"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "| config (B, T, I, H) | mode |" in p.stdout
    assert "tutorial (1, 3, 1, 4)" in p.stdout
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["machine"]["threads"] == 2
    assert {"numpy", "numba"} <= set(report["machine"]["versions"])
    rows = report["results"]
    assert {r["mode"] for r in rows} == {"fwd", "fwdbwd"}
    for r in rows:
        times = r["times"]["lstm_np-numba"]
        assert len(times) >= 2 and all(t > 0 for t in times)
    assert (tmp_path / "bench.md").read_text().startswith("Machine:")
    assert (tmp_path / "bench.png").stat().st_size > 0


@pytest.mark.slow  # a fresh Python process (imports, JIT) takes 4-30 s
def test_bench_skips_missing_contender(tmp_path, monkeypatch):
    """An optional contender that cannot be imported is skipped with a note, not a crash."""
    sys.path.insert(0, ROOT)
    try:
        from benchmarks import bench
    finally:
        sys.path.remove(ROOT)
    monkeypatch.setenv("KERAS_BACKEND", "no_such_backend")
    report = bench.run(bench.main.__globals__["argparse"].Namespace(
        tiny=True, no_sweep=True, contenders=["lstm_np-numba", "keras"], threads=1, repeats=1,
        rounds=1, out=str(tmp_path), cell="lstm"))
    assert any(n.startswith("keras skipped") for n in report["machine"]["notes"])
    assert "keras" not in report["results"][0]["times"]


@pytest.mark.slow  # a fresh Python process (imports, JIT) takes 4-30 s
def test_bench_tiny_gru(tmp_path):
    """--cell gru times every contender's GRU (the harness covers GRU too)."""
    p = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "bench.py"), "--tiny", "--cell", "gru",
         "--out", str(tmp_path), "--contenders", "lstm_np-numba", "torch"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["machine"]["cell"] == "gru"
    versions = {k: v["version"] for k, v in report["machine"]["contenders"].items()}
    assert "GRU" in versions["lstm_np-numba"] and "nn.GRU" in versions["torch"], versions
    assert all(len(r["times"]["torch"]) >= 2 for r in report["results"])


def _one_process(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "one_process.py"),
                           *args], capture_output=True, text=True, timeout=600, cwd=ROOT)


@pytest.mark.slow  # a fresh Python process (imports, JIT) takes 4-30 s
def test_one_process_runs_and_prints_ratios():
    p = _one_process("tutorial", "--blocks", "2", "--calls", "3")
    assert p.returncode == 0, p.stderr[-2000:]
    rows = [ln for ln in p.stdout.splitlines() if ln.startswith("| tutorial")]
    assert [r.split("|")[2].strip() for r in rows] == ["fwd", "fwdbwd"]
    for r in rows:
        per_block = r.split("|")[6].split()
        assert len(per_block) == 2 and all(float(v) > 0 for v in per_block)


def test_one_process_refuses_bad_arguments_clearly():
    p = _one_process("huge")
    assert p.returncode == 2
    assert "unknown config(s) ['huge']: choose among tutorial, small" in p.stderr
    p = _one_process("tutorial", "--blocks", "0")
    assert p.returncode == 2 and "expected a whole number >= 1, got 0" in p.stderr
    p = _one_process("tutorial", "--calls", "many")
    assert p.returncode == 2 and "expected a whole number >= 1, got 'many'" in p.stderr
