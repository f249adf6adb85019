"""The contenders of :mod:`benchmarks.bench`, each timed inside its own worker process.

A worker is ``python benchmarks/bench.py --worker NAME``: it imports one library, sets
every thread pool it owns to the requested count, then answers timing requests read as
JSON lines on stdin (``{"cfg": [B, T, I, H], "mode": "fwd"|"fwdbwd", "n": repeats}``) with
``{"times": [...]}`` (seconds per call, warm-up excluded) or ``{"skip": "why"}``.

What is timed, per call, float32, all outputs of the sequence (``return_sequences``):

* ``lstm_np-numba`` / ``lstm_np-numpy``: ``lstm_np.LSTM(H, return_sequences=True)``;
  fwd = ``layer(x)``; fwdbwd = ``layer(x, training=True)`` then ``layer.backward(dy)``
  (weight gradients and dx).
* ``torch``: ``torch.nn.LSTM(I, H, batch_first=True)``; fwd under ``torch.inference_mode()``;
  fwdbwd = forward with autograd (x requires grad) then ``out.backward(dy)``.
* ``keras``: ``keras.layers.LSTM(H, return_sequences=True)`` on JAX when installed
  (jit-compiled forward and ``jax.grad``), else on torch (eager, autograd).

With ``BENCH_CELL=gru`` (``bench.py --cell gru``) every contender runs its GRU instead
(``reset_after=True`` in lstm_np and Keras, which is torch's GRU).
"""

from __future__ import annotations

import os
import time

import numpy as np

#: "lstm" or "gru": which layer every contender builds (set by bench.py --cell).
CELL = os.environ.get("BENCH_CELL", "lstm")
_NAMES = {"lstm": ("LSTM", "LSTM", "LSTM"), "gru": ("GRU", "GRU", "GRU")}[CELL]

#: numpy engine: skip configs above this many B·T·H·H multiply-adds (minutes per call).
NUMPY_MAX_WORK = 2e9


def set_threads(n: int) -> dict:
    """Set every thread pool this process may use to ``n``; return what was set."""
    info = {"threads": n}
    try:
        from threadpoolctl import threadpool_info, threadpool_limits

        threadpool_limits(n)
        info["threadpools"] = [(p["internal_api"], p.get("prefix"), p["num_threads"])
                               for p in threadpool_info()]
    except ImportError:
        info["threadpools"] = "threadpoolctl not installed: BLAS pools set by env vars only"
    return info


#: A contender whose second warm-up call (the first may compile) takes longer than this
#: many seconds is timed with SLOW_REPEATS calls in all (reported as such) instead of
#: rounds x repeats.
SLOW_S, SLOW_REPEATS = 2.0, 3


#: Warm-up before each timed batch: at least this many seconds of calls (and 2 calls). On a
#: VM a thread on a core that just idled runs slowly for tens of ms; a count of warm-up calls
#: would leave short calls (batch 32: 0.6 ms) measured in that window.
WARM_S = 0.1


def _timer(fn, n):
    fn()  # warm-up (compilation, allocation, caches); excluded
    t0 = time.perf_counter()
    fn()  # a second one decides "slow": the first may have been compiling (a cold JIT cache)
    if time.perf_counter() - t0 > SLOW_S:
        n = SLOW_REPEATS
    else:
        while time.perf_counter() - t0 < WARM_S:
            fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


class LstmNp:
    def __init__(self, engine):
        import lstm_np

        self.lstm_np, self.engine = lstm_np, engine
        self.cache = {}

    def setup(self, cfg):
        B, T, I, H = cfg
        if self.engine == "numpy" and B * T * H * H > NUMPY_MAX_WORK:
            return "numpy engine skipped above B·T·H² = 2e9 (minutes per call)"
        rng = np.random.default_rng(0)
        x = rng.standard_normal((B, T, I)).astype(np.float32)
        layer = getattr(self.lstm_np, _NAMES[0])(H, return_sequences=True, engine=self.engine,
                                                 seed=0)
        dy = np.ones((B, T, H), np.float32)
        self.cache[cfg] = (layer, x, dy)

    def fwd(self, cfg):
        layer, x, _ = self.cache[cfg]
        return lambda: layer(x)

    def fwdbwd(self, cfg):
        layer, x, dy = self.cache[cfg]

        def run():
            layer(x, training=True)
            layer.backward(dy)
        return run


class Torch:
    def __init__(self):
        import torch

        self.torch = torch
        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
        self.cache = {}

    def setup(self, cfg):
        torch = self.torch
        B, T, I, H = cfg
        torch.manual_seed(0)
        lstm = getattr(torch.nn, _NAMES[1])(I, H, batch_first=True)
        x = torch.randn(B, T, I)
        self.cache[cfg] = (lstm, x, x.clone().requires_grad_(True), torch.ones(B, T, H))

    def fwd(self, cfg):
        lstm, x, _, _ = self.cache[cfg]

        def run():
            with self.torch.inference_mode():
                lstm(x)
        return run

    def fwdbwd(self, cfg):
        lstm, _, xg, dy = self.cache[cfg]

        def run():
            out, _ = lstm(xg)
            out.backward(dy)
        return run


class Keras:
    def __init__(self):
        try:
            import jax  # noqa: F401

            os.environ.setdefault("KERAS_BACKEND", "jax")
        except ImportError:
            os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        self.keras = keras
        self.backend = keras.backend.backend()
        if self.backend == "torch":
            import torch

            torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
        self.cache = {}

    def setup(self, cfg):
        B, T, I, H = cfg
        keras = self.keras
        layer = getattr(keras.layers, _NAMES[2])(H, return_sequences=True)
        x = np.random.default_rng(0).standard_normal((B, T, I)).astype(np.float32)
        layer.build((B, T, I))
        self.cache[cfg] = (layer, x)

    def fwd(self, cfg):
        layer, x = self.cache[cfg]
        if self.backend == "jax":
            import jax

            # Keras 3.15's LSTM holds a non-trainable variable (its dropout seed state).
            nt = [w.value for w in layer.non_trainable_variables]
            f = jax.jit(lambda v, x: layer.stateless_call(v, nt, x)[0])
            v = [w.value for w in layer.trainable_variables]
            return lambda: f(v, x).block_until_ready()
        import torch

        xt = torch.from_numpy(x)

        def run():
            with torch.no_grad():
                layer(xt)
        return run

    def fwdbwd(self, cfg):
        layer, x = self.cache[cfg]
        if self.backend == "jax":
            import jax

            nt = [w.value for w in layer.non_trainable_variables]

            def loss(v, x):
                return layer.stateless_call(v, nt, x)[0].sum()
            g = jax.jit(jax.grad(loss, argnums=(0, 1)))
            v = [w.value for w in layer.trainable_variables]
            return lambda: jax.block_until_ready(g(v, x))
        import torch

        xt = torch.from_numpy(x).requires_grad_(True)

        def run():
            out = layer(xt)
            out.sum().backward()
        return run


def make(name):
    if name == "lstm_np-numba":
        return LstmNp("numba")
    if name == "lstm_np-numpy":
        return LstmNp("numpy")
    if name == "torch":
        return Torch()
    if name == "keras":
        return Keras()
    raise ValueError(f"unknown contender {name!r}")


def describe(obj) -> str:
    if isinstance(obj, Keras):
        return f"keras {obj.keras.__version__} ({obj.backend} backend, {_NAMES[2]})"
    if isinstance(obj, Torch):
        return f"torch {obj.torch.__version__} (nn.{_NAMES[1]})"
    return f"lstm_np {obj.lstm_np.__version__} ({_NAMES[0]}, engine={obj.engine})"


def time_request(obj, cfg, mode, n):
    if cfg not in obj.cache:
        why = obj.setup(cfg)
        if why:
            return {"skip": why}
    fn = getattr(obj, mode)(cfg)
    times = _timer(fn, n)
    return {"times": times, "slow": len(times) == SLOW_REPEATS and n != SLOW_REPEATS}
