"""lstm_np against PyTorch CPU in ONE process: the other way to read "faster than PyTorch".

    python benchmarks/one_process.py                     # the five configs, 2 threads
    python benchmarks/one_process.py small large --blocks 5 --calls 20

:mod:`benchmarks.bench` isolates each contender in its own process. A user (or a harness)
that imports both libraries shares the cores with the other library's idle thread pools
(PyTorch's OpenMP workers spin for a while after each call; lstm_np's kernel threads for
0.5 ms). Here both live in one process, with the same thread count, and are timed in
alternating blocks: ``--blocks`` blocks per library and mode, each ``--calls`` calls after
bench.py's warm-up (2 calls and at least 0.1 s), the order flipped every block (torch
first, then lstm_np first, ...).
Prints, per config and mode, the median of each library's block medians and every block's
ratio ``torch / lstm_np`` (above 1: lstm_np is faster). No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks.bench import GRID  # noqa: E402


def _fmt(s):
    return f"{s * 1e6:.1f} µs" if s < 1e-3 else f"{s * 1e3:.2f} ms"


def _at_least_one(text):
    """argparse type: an int >= 1, with a message that says so."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("configs", nargs="*", metavar="CONFIG",
                    help=f"among {', '.join(GRID)} (default: all)")
    ap.add_argument("--threads", type=_at_least_one, default=2, help="threads for both (default 2)")
    ap.add_argument("--blocks", type=_at_least_one, default=3, help="blocks per library and mode")
    ap.add_argument("--calls", type=_at_least_one, default=50,
                    help="timed calls per block (a config slower than 20 ms a call: 10)")
    ap.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    args = ap.parse_args(argv)
    unknown = [c for c in args.configs if c not in GRID]
    if unknown:
        ap.error(f"unknown config(s) {unknown}: choose among {', '.join(GRID)}")
    args.configs = args.configs or list(GRID)

    os.environ["BENCH_CELL"] = args.cell
    os.environ["BENCH_THREADS"] = str(args.threads)
    import numba

    from benchmarks import contenders

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    contenders.set_threads(args.threads)
    ours, torch = contenders.make("lstm_np-numba"), contenders.make("torch")
    print(f"{args.cell.upper()}, float32, {args.threads} thread(s) each, one process; "
          f"{contenders.describe(ours)} vs {contenders.describe(torch)}")
    print("| config (B, T, I, H) | mode | lstm_np | torch | torch / lstm_np | per block |")
    print("|---|---|---|---|---|---|")
    for name in args.configs:
        cfg = GRID[name]
        ours.setup(cfg)
        torch.setup(cfg)
        for mode in ("fwd", "fwdbwd"):
            f_ours, f_torch = getattr(ours, mode)(cfg), getattr(torch, mode)(cfg)
            calls = args.calls
            t0 = time.perf_counter()
            f_ours()
            if time.perf_counter() - t0 > 0.02:
                calls = min(calls, 10)
            a, b = [], []
            for k in range(args.blocks):
                block = [(a, f_torch), (b, f_ours)]
                for times, fn in block if k % 2 == 0 else block[::-1]:
                    times.append(float(np.median(contenders._timer(fn, calls))))
            ratios = " ".join(f"{x / y:.2f}" for x, y in zip(a, b, strict=True))
            print(f"| {name} {cfg} | {mode} | {_fmt(np.median(b))} | {_fmt(np.median(a))} | "
                  f"{np.median(a) / np.median(b):.2f}x | {ratios} |", flush=True)


if __name__ == "__main__":
    main()
