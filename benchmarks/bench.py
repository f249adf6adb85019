"""Benchmark lstm_np against PyTorch CPU and Keras 3: one command, one table.

    python benchmarks/bench.py                # grid + sweep, 2 threads -> benchmarks/results/
    python benchmarks/bench.py --threads 1    # everything single-threaded
    python benchmarks/bench.py --tiny         # seconds: the CI smoke run (no timing claims)
    python benchmarks/bench.py --cell gru     # the same for GRU (reset_after=True, torch's GRU)

Each contender runs in its own worker process (imports and thread pools never mix) with
every thread pool set to ``--threads`` (``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, ``torch.set_num_threads``, threadpoolctl).
The parent asks the workers for timings in turns (``--rounds`` rounds of ``--repeats``
calls each, contender after contender), so a load change on a shared machine hits every
contender alike; warm-up calls are excluded and the table shows medians of all repeats.
Writes ``bench.json`` (every time, machine, versions, thread counts, load) and
``bench.png``; prints a markdown table with the ratios ``torch / lstm_np-numba``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

#: Seconds of quiet before each timing request (see Worker.ask).
SETTLE_S = 0.05

GRID = {"tutorial": (1, 3, 1, 4), "small": (32, 50, 16, 64), "medium": (64, 100, 64, 128),
        "large": (128, 100, 256, 512), "stream": (1, 1000, 8, 32)}
SWEEP_T, SWEEP_I = 50, 32
SWEEP_B, SWEEP_H = (1, 4, 16, 64, 256), (32, 128, 512)
TINY_GRID = {"tutorial": (1, 3, 1, 4), "tiny": (4, 5, 3, 8)}
CONTENDERS = ("lstm_np-numba", "lstm_np-numpy", "torch", "keras")
MODES = ("fwd", "fwdbwd")
SLOW_S = 2.0  # benchmarks.contenders.SLOW_S


# ----------------------------------------------------------------------------- worker side
def worker(name: str, threads: int) -> None:
    from benchmarks import contenders

    out = sys.stdout
    sys.stdout = sys.stderr  # library chatter must not corrupt the JSON channel
    try:
        obj = contenders.make(name)
        info = contenders.set_threads(threads)
        info["version"] = contenders.describe(obj)
        hello = {"ok": True, "info": info}
    except Exception as exc:  # missing optional contender: skipped with a note
        hello = {"ok": False, "why": f"{type(exc).__name__}: {exc}"}
    out.write(json.dumps(hello) + "\n")
    out.flush()
    if not hello["ok"]:
        return
    extra = {"gemm": lambda req: gemm_floor(tuple(req["cfg"]), req["n"])}
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["mode"] in extra:
                ans = extra[req["mode"]](req)
            else:
                ans = contenders.time_request(obj, tuple(req["cfg"]), req["mode"], req["n"])
        except Exception as exc:
            ans = {"skip": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(ans) + "\n")
        out.flush()


def _packed_products(cfg):
    """lstm_np's own matrix products for ``cfg`` with nothing else: per row chunk (same
    split, same threads as the kernel), T packed products ``[W; U; b]^T [x_t; h; 1]``
    (forward) and, for backward, T products ``[W; U] dz_t`` plus the one GEMM
    ``[dW; dU; db]`` over every step (lstm_np/kernels/lstm_wide.py)."""
    from numba import njit

    from lstm_np.kernels import threads
    from lstm_np.kernels.blas import gemm
    from lstm_np.kernels.packed import gemm_packed, lanes, pack_stacked, panels

    @njit(nogil=True)
    def steps(ap, b, c, T):
        for t in range(T):
            gemm_packed(ap, b[:, t % b.shape[1], :], c, False)

    @njit(nogil=True)
    def bwd_steps(ap2, dzt, dxh, xh2, dz2, dWUb, put, T):
        for _ in range(T):
            gemm_packed(ap2, dzt, dxh, False)
        gemm(xh2, dz2, dWUb, False, True, put)

    B, T, I, H = cfg
    f32 = np.float32
    rng = np.random.default_rng(0)
    W, U, bias = (rng.random(s, f32) for s in ((I, 4 * H), (H, 4 * H), (1, 4 * H)))
    ap = panels(4 * H, I + H + 1, f32)
    pack_stacked(W, U, bias, ap, True, 0, ap.shape[0])
    ap2 = panels(I + H, 4 * H, f32)
    pack_stacked(W, U, W[:0], ap2, False, 0, ap2.shape[0])
    L = lanes(f32)
    fwd_jobs, bwd_jobs = [], []
    put = np.array([1, 0], f32)
    for b0, b1 in threads.split_aligned(B, T * B * H * 4 * (H + I), L):
        nbp = -(-(b1 - b0) // L) * L
        xh = rng.random((I + H + 1, 2, nbp), f32)
        fwd_jobs.append((ap, xh, np.empty((ap.shape[0] * ap.shape[2], nbp), f32), T))
        bwd_jobs.append((ap2, rng.random((4 * H, nbp), f32),
                         np.empty((ap2.shape[0] * ap2.shape[2], nbp), f32),
                         rng.random((I + H + 1, T * nbp), f32), rng.random((4 * H, T * nbp), f32),
                         np.empty((I + H + 1, 4 * H), f32), put, T))
    return (lambda: threads.run(steps, fwd_jobs)), (lambda: threads.run(bwd_steps, bwd_jobs))


def gemm_floor(cfg, n):
    """Median seconds of the LSTM's matrix products alone, and the SGEMM peak.

    ``fwd_s``/``fwdbwd_s``: lstm_np's own products (:func:`_packed_products`), the floor its
    kernel cannot go below. ``numpy_*``: the same products through NumPy/OpenBLAS, one call
    each (x @ W over all steps, then T products (B, H) @ (H, 4H); backward adds T products
    (B, 4H) @ (4H, H), dW = X^T dZ, dU = H^T dZ, dX = dZ W^T), for reference.
    """

    B, T, I, H = cfg
    rng = np.random.default_rng(0)
    f32 = np.float32
    x, W = rng.random((B * T, I), f32), rng.random((I, 4 * H), f32)
    U, h = rng.random((H, 4 * H), f32), rng.random((B, H), f32)
    dz, hs = rng.random((B * T, 4 * H), f32), rng.random((B * T, H), f32)
    big = rng.random((2048, 2048), f32)

    def fwd():
        x @ W
        for _ in range(T):
            h @ U

    def bwd():
        for t in range(T):
            dz[t * B:(t + 1) * B] @ U.T
        x.T @ dz
        hs.T @ dz
        dz @ W.T

    def med(fn):
        fn()
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return float(np.median(ts))

    p_fwd, p_bwd = _packed_products(cfg)
    t_pf, t_pb = med(p_fwd), med(p_bwd)
    t_f, t_b, t_peak = med(fwd), med(bwd), med(lambda: big @ big)
    flops_f = 2 * B * T * 4 * H * (I + H)
    return {"fwd_s": t_pf, "fwdbwd_s": t_pf + t_pb, "numpy_fwd_s": t_f,
            "numpy_fwdbwd_s": t_f + t_b, "fwd_gflop": flops_f / 1e9,
            "fwdbwd_gflop": 3 * flops_f / 1e9, "sgemm_peak_gflops": 2 * 2048 ** 3 / t_peak / 1e9}


# ----------------------------------------------------------------------------- parent side
class Worker:
    def __init__(self, name, threads):
        env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                   OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
                   BENCH_THREADS=str(threads), PYTHONPATH=ROOT + os.pathsep
                   + os.environ.get("PYTHONPATH", ""))
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", name, "--threads",
             str(threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
            cwd=ROOT)
        self.hello = json.loads(self.proc.stdout.readline() or '{"ok": false, "why": "died"}')

    def ask(self, **req):
        # Let the previous contender's threads settle: PyTorch's OpenMP workers spin ~5 ms
        # after each call (measured: a 2-thread lstm_np call started in that window shares
        # a core with the spinner and takes up to 2x), which would tax whoever runs next.
        time.sleep(SETTLE_S)
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        return json.loads(line) if line else {"skip": "worker died"}

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def machine_info(threads):
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    versions = {}
    for mod in ("numpy", "numba", "scipy", "torch", "keras", "jax"):
        try:
            versions[mod] = __import__(mod).__version__ if mod not in ("torch", "keras", "jax") \
                else _version_of(mod)
        except ImportError:
            versions[mod] = None
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "versions": versions, "threads": threads,
            "loadavg_start": os.getloadavg()}


def _version_of(mod):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(mod)
    except PackageNotFoundError:
        raise ImportError(mod) from None


def cold_start(threads):
    """Seconds for ``import lstm_np`` + first tutorial call, in a fresh process: once with
    an empty Numba cache (compile time), once with the cache it just wrote (warm start)."""
    import tempfile

    code = ("import time; t0 = time.perf_counter(); import numpy as np, lstm_np; "
            "l = lstm_np.LSTM(4, return_sequences=True); x = np.ones((1, 3, 1), 'float32'); "
            "l(x); t1 = time.perf_counter(); y = l(x, training=True); l.backward(y); "
            "print(t1 - t0, time.perf_counter() - t0)")
    res = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, NUMBA_NUM_THREADS=str(threads),
                   PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        # NUMBA_CACHE_DIR takes precedence over __pycache__: the first run compiles every
        # kernel it touches (compile time), the second loads what the first wrote.
        for label in ("first_run", "warm_cache"):
            p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                               text=True, cwd=ROOT)
            fwd, both = map(float, p.stdout.split()) if p.returncode == 0 else (None, None)
            res[label] = {"import_plus_first_fwd_s": fwd, "plus_first_train_step_s": both}
    return res


def run(args):
    grid = TINY_GRID if args.tiny else GRID
    sweep = [] if (args.tiny or args.no_sweep) else \
        [(b, SWEEP_T, SWEEP_I, h) for h in SWEEP_H for b in SWEEP_B]
    names = args.contenders or (["lstm_np-numba", "lstm_np-numpy", "torch"] if args.tiny
                                else list(CONTENDERS))
    info = machine_info(args.threads)
    workers, notes = {}, []
    for name in names:
        w = Worker(name, args.threads)
        if w.hello.get("ok"):
            workers[name] = w
            info.setdefault("contenders", {})[name] = w.hello["info"]
        else:
            notes.append(f"{name} skipped: {w.hello.get('why')}")
            w.close()
    configs = [(k, v) for k, v in grid.items()] + [(f"sweep B={c[0]} H={c[3]}", c)
                                                   for c in sweep]
    results = []
    for label, cfg in configs:
        for mode in MODES:
            row = {"config": label, "cfg": list(cfg), "mode": mode, "times": {}, "skip": {}}
            for _ in range(args.rounds):
                for name, w in workers.items():
                    if name in row["skip"]:
                        continue
                    ans = w.ask(cfg=list(cfg), mode=mode, n=args.repeats)
                    if "skip" in ans:
                        row["skip"][name] = ans["skip"]
                    else:
                        row["times"].setdefault(name, []).extend(ans["times"])
                        if ans.get("slow"):  # minutes per call: 3 calls are enough
                            row["skip"][name] = f"slow (> {SLOW_S:.0f} s per call): 3 calls timed"
                            row.setdefault("slow", []).append(name)
            row["median_s"] = {k: float(np.median(v)) for k, v in row["times"].items()}
            results.append(row)
            print(f"  {label:22s} {mode:6s} " + "  ".join(
                f"{k}={v * 1e3:.3f}ms" for k, v in row["median_s"].items()), file=sys.stderr)
    floor = None
    if "lstm_np-numba" in workers and not args.tiny and args.cell == "lstm":  # LSTM GEMMs
        floor = workers["lstm_np-numba"].ask(cfg=list(GRID["large"]), mode="gemm",
                                             n=args.repeats)
    for w in workers.values():
        w.close()
    info["loadavg_end"] = os.getloadavg()
    info["notes"] = notes
    report = {"machine": info, "results": results, "gemm_floor_large": floor,
              "cold_start": None if args.tiny or args.cell != "lstm"
              else cold_start(args.threads)}
    os.makedirs(args.out, exist_ok=True)
    info["cell"] = args.cell
    with open(os.path.join(args.out, "bench.json"), "w") as f:
        json.dump(report, f, indent=1)
    table = markdown(report, list(workers))
    print(table)
    with open(os.path.join(args.out, "bench.md"), "w") as f:
        f.write(table + "\n")
    plot(report, list(workers), os.path.join(args.out, "bench.png"))
    return report


def _fmt(s):
    if s is None:
        return "—"
    return f"{s * 1e6:.1f} µs" if s < 1e-3 else f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"


def markdown(report, names):
    m = report["machine"]
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores; {m['threads']} thread(s) per contender; "
             f"{m['date']}; load average {m['loadavg_start'][0]:.2f} -> "
             f"{m['loadavg_end'][0]:.2f}.",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v),
             "Contenders: " + "; ".join(f"{k} = {v.get('version')}"
                                        for k, v in m.get("contenders", {}).items()), ""]
    head = "| config (B, T, I, H) | mode | " + " | ".join(names) + " | torch / numba | " \
        "keras / numba |"
    lines += [head, "|" + "---|" * (len(names) + 4)]
    for r in report["results"]:
        med = r["median_s"]

        def ratio(other, med=med):
            if {other, "lstm_np-numba"} <= set(med):
                return f"{med[other] / med['lstm_np-numba']:.2f}x"
            return "—"
        cells = [_fmt(med.get(n)) + ("*" if n in r.get("slow", ()) else "") if n in med
                 else ("skipped" if n in r["skip"] else "—") for n in names]
        lines.append(f"| {r['config']} {tuple(r['cfg'])} | {r['mode']} | " + " | ".join(cells)
                     + f" | {ratio('torch')} | {ratio('keras')} |")
    for note in m["notes"]:
        lines.append(f"\nNote: {note}")
    if any(r.get("slow") for r in report["results"]):
        lines.append(f"\n\\* slower than {SLOW_S:.0f} s per call: median of 3 calls, not of "
                     f"rounds x repeats.")
    skips = sorted({f"{k}: {v}" for r in report["results"] for k, v in r["skip"].items()
                    if not v.startswith("slow")})
    for s in skips:
        lines.append(f"\nSkipped: {s}")
    fl = report.get("gemm_floor_large")
    if fl:
        large = {r["mode"]: r["median_s"].get("lstm_np-numba") for r in report["results"]
                 if r["config"] == "large"}
        for mode in MODES:
            if large.get(mode):
                lines.append(
                    f"\nlarge {mode}: GEMM floor (lstm_np's own products alone) "
                    f"{_fmt(fl[mode + '_s'])} "
                    f"({fl[mode + '_gflop']:.1f} GFLOP, {fl[mode + '_gflop'] / fl[mode + '_s']:.0f}"
                    f" GFLOP/s); lstm_np-numba {_fmt(large[mode])} = "
                    f"{large[mode] / fl[mode + '_s']:.2f}x the floor, "
                    f"{fl[mode + '_gflop'] / large[mode]:.0f} GFLOP/s; SGEMM peak "
                    f"{fl['sgemm_peak_gflops']:.0f} GFLOP/s (NumPy/OpenBLAS on the same "
                    f"products: {_fmt(fl.get('numpy_' + mode + '_s'))}).")
    cs = report.get("cold_start")
    if cs:
        lines.append("\nCold start (fresh process, import + first call): " + "; ".join(
            f"{k}: {_fmt(v['import_plus_first_fwd_s'])} (+ first train step "
            f"{_fmt(v['plus_first_train_step_s'])})" for k, v in cs.items()))
    return "\n".join(lines)


def plot(report, names, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot", file=sys.stderr)
        return
    rows = [r for r in report["results"] if r["config"].startswith("sweep")] or report["results"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, mode in zip(axes, MODES, strict=True):
        sel = [r for r in rows if r["mode"] == mode]
        labels = [r["config"].replace("sweep ", "") for r in sel]
        for name in names:
            ys = [r["median_s"].get(name, np.nan) * 1e3 for r in sel]
            ax.plot(range(len(sel)), ys, marker="o", label=name)
        ax.set_yscale("log")
        ax.set_xticks(range(len(sel)), labels, rotation=60, fontsize=7)
        ax.set_ylabel("ms per call (median)")
        ax.set_title(f"{mode} (T={SWEEP_T}, I={SWEEP_I})" if rows is not report["results"]
                     else mode)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5, help="calls per contender per round")
    p.add_argument("--rounds", type=int, default=4, help="interleaved rounds (repeats x rounds"
                   " >= 20 by default)")
    p.add_argument("--tiny", action="store_true", help="tiny grid, no sweep: CI smoke run")
    p.add_argument("--no-sweep", action="store_true")
    p.add_argument("--contenders", nargs="*", choices=CONTENDERS)
    p.add_argument("--cell", choices=("lstm", "gru"), default="lstm",
                   help="which recurrent layer every contender runs")
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker, args.threads)
        return
    os.environ["BENCH_CELL"] = args.cell  # the workers inherit it
    if args.tiny and "--repeats" not in (argv or sys.argv):
        args.repeats, args.rounds = 2, 1
    run(args)


if __name__ == "__main__":
    main()
