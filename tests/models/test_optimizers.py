"""Optimizers against the formulas written out in NumPy (no Keras needed; the Keras
trajectories are in test_training_keras.py). The Adam step is a Numba kernel: this is
its check against the plain NumPy version."""

import numpy as np
import pytest

from lstm_np import optimizers


def reference_adam(w, grads, lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False):
    m, v, vhat = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vhat = np.maximum(vhat, v) if amsgrad else v
        alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w = w - alpha * m / (np.sqrt(vhat) + eps)
    return w


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("shape", [(7,), (3, 5)])
def test_adam_kernel_matches_numpy(dtype, amsgrad, shape):
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=shape).astype(dtype)
    grads = [rng.normal(size=shape).astype(dtype) * s for s in (1.0, 0.1, 3.0, 0.01)]
    opt = optimizers.Adam(learning_rate=0.05, amsgrad=amsgrad)
    w = w0.copy()
    for g in grads:
        opt.apply([g], [w])
    lr = float(np.float32(0.05))
    expected = reference_adam(w0.astype("float64"), [g.astype("float64") for g in grads], lr,
                              amsgrad=amsgrad)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(w, expected, rtol=tol, atol=tol)
    assert w.dtype == dtype and opt.iterations == 4


def test_sgd_rmsprop_adagrad_formulas():
    g = np.array([0.5, -2.0])
    w = np.array([1.0, 1.0])
    sgd = optimizers.SGD(0.1, momentum=0.9, nesterov=True)
    a = w.copy()
    sgd.apply([g], [a])
    sgd.apply([g], [a])
    m1 = -0.1 * g
    m2 = 0.9 * m1 - 0.1 * g
    np.testing.assert_allclose(a, w + (0.9 * m1 - 0.1 * g) + (0.9 * m2 - 0.1 * g))
    rms = optimizers.RMSprop(0.01)
    b = w.copy()
    rms.apply([g], [b])
    np.testing.assert_allclose(b, w - 0.01 * g / np.sqrt(0.1 * g * g + 1e-7), rtol=1e-6)
    ada = optimizers.Adagrad(0.1)
    c = w.copy()
    ada.apply([g], [c])
    np.testing.assert_allclose(c, w - 0.1 * g / np.sqrt(0.1 + g * g + 1e-7), rtol=1e-6)


def test_clipping_rules():
    g = [np.array([3.0, 4.0]), np.array([0.3, 0.4])]
    opt = optimizers.SGD(1.0, clipnorm=1.0)
    np.testing.assert_allclose(opt._clip(g)[0], [0.6, 0.8])
    np.testing.assert_allclose(opt._clip(g)[1], [0.3, 0.4])  # under the norm: unchanged
    opt = optimizers.SGD(1.0, global_clipnorm=1.0)
    scale = 1.0 / np.sqrt(25 + 0.25)
    np.testing.assert_allclose(opt._clip(g)[1], np.array([0.3, 0.4]) * scale)
    opt = optimizers.SGD(1.0, clipvalue=0.35)
    np.testing.assert_allclose(opt._clip(g)[0], [0.35, 0.35])
    with pytest.raises(ValueError, match="Only one of clipnorm, clipvalue and global_clipnorm"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)


def test_state_round_trip_continues_identically():
    rng = np.random.default_rng(1)
    g = [rng.normal(size=(4,)) for _ in range(3)]
    a, b = optimizers.Adam(0.1), optimizers.Adam(0.1)
    wa = np.ones(4)
    a.apply([g[0]], [wa])
    b.set_state(a.get_state())
    wb = wa.copy()
    for gi in g[1:]:
        a.apply([gi], [wa])
        b.apply([gi], [wb])
    np.testing.assert_array_equal(wa, wb)


def test_unknown_arguments_and_names():
    with pytest.raises(TypeError, match="unexpected argument"):
        optimizers.Adam(betas=0.9)
    with pytest.raises(ValueError, match="Valid names: sgd, adam, rmsprop, adagrad"):
        optimizers.get("adamax")
