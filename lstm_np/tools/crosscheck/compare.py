"""Compare the two recorded runs of ``lstm-np crosscheck`` and find where they part.

Events are compared in order: a ``fit`` epoch by epoch (every logged loss and metric), a
``predict`` by its largest relative difference, an ``evaluate`` or ``*_on_batch`` by its
values. The first value whose relative difference passes ``tol`` is the parting point; a
``fit`` that parts is then looked at batch by batch (running losses), and its stateful
layers' carried states are compared, which names the cause when one side did not carry them.
"""

from __future__ import annotations

import numpy as np

#: Known Keras 3 differences, by key, with the docs page that explains them.
KNOWN = {
    "jax-stateful-fit": (
        "Keras 3 on the JAX backend does not carry a stateful RNN's states between the "
        "batches of fit/predict (docs/crosscheck.md, 'Known Keras 3 differences')."),
    "torch-stateful-fit": (
        "Keras 3 on the torch backend cannot fit a stateful RNN: torch's autograd refuses the "
        "state variable Keras updates in place (docs/crosscheck.md, 'Known Keras 3 "
        "differences'). Run the check with --backend jax."),
}


def known_keras_failure(backend: str, error: dict) -> str | None:
    """The known Keras 3 difference a Keras-side failure comes from, or None."""
    if backend == "torch" and "modified by an inplace operation" in error.get("message", ""):
        return KNOWN["torch-stateful-fit"]
    return None


def rel_diff(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        same = np.array_equal(np.isnan(a), np.isnan(b)) and np.array_equal(
            a[~np.isfinite(a) & ~np.isnan(a)], b[~np.isfinite(b) & ~np.isnan(b)])
        if not same:
            return float("inf")
        keep = np.isfinite(a)
        a, b = a[keep], b[keep]
        if a.size == 0:
            return 0.0
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), 1e-12)
    return float(np.max(np.abs(a - b))) / scale


def compare_runs(keras, ours, k_arrays, n_arrays, tol: float) -> dict:
    """``{"rows": [...], "parting": None | {...}}`` for two recorded runs."""
    rows, parting = [], None

    def part(**where):
        nonlocal parting
        if parting is None:
            parting = where

    k_events, n_events = keras["events"], ours["events"]
    for i, (ke, ne) in enumerate(zip(k_events, n_events, strict=False)):
        if (ke["kind"], ke["model"]) != (ne["kind"], ne["model"]):
            part(event=i, kind=ke["kind"], why=(
                f"the programs took different paths: call {i + 1} is {ke['kind']} of model "
                f"{ke['model']} on Keras and {ne['kind']} of model {ne['model']} on lstm_np"))
            break
        kind, key = ke["kind"], f"event/{ke['n']}"
        if kind == "fit":
            pairs = zip(ke.get("epochs", []), ne.get("epochs", []), strict=False)
            for epoch, (kl, nl) in enumerate(pairs):
                for name in kl:
                    if name not in nl:
                        continue
                    d = rel_diff(kl[name], nl[name])
                    rows.append({"event": i, "kind": kind, "model": ke["model"], "epoch": epoch,
                                 "name": name, "keras": kl[name], "lstm_np": nl[name],
                                 "rel": d})
                    if d > tol:
                        part(event=i, kind=kind, epoch=epoch, name=name, rel=d,
                             batch=_first_batch_parting(ke, ne, epoch, tol))
            if len(ke.get("epochs", [])) != len(ne.get("epochs", [])):
                part(event=i, kind=kind, why=(
                    f"fit ran {len(ke['epochs'])} epochs on Keras and {len(ne['epochs'])} on "
                    "lstm_np (a callback stopped one of them)"))
        elif kind in ("predict", "predict_on_batch"):
            d = max((rel_diff(k_arrays[f"{key}/{j}"], n_arrays.get(f"{ne_key(ne)}/{j}", _MISSING))
                     for j in range(ke.get("outputs", 0))), default=0.0)
            rows.append({"event": i, "kind": kind, "model": ke["model"], "epoch": None,
                         "name": "output", "keras": None, "lstm_np": None, "rel": d})
            if d > tol:
                part(event=i, kind=kind, name="output", rel=d)
        else:
            d = rel_diff(ke.get("values", []), ne.get("values", []))
            rows.append({"event": i, "kind": kind, "model": ke["model"], "epoch": None,
                         "name": "values", "keras": ke.get("values"),
                         "lstm_np": ne.get("values"), "rel": d})
            if d > tol:
                part(event=i, kind=kind, name="values", rel=d)
    if parting is None and len(k_events) != len(n_events):
        part(event=min(len(k_events), len(n_events)), kind="end", why=(
            f"Keras recorded {len(k_events)} calls and lstm_np {len(n_events)}"))
    return {"rows": rows, "parting": parting}


_MISSING = np.full((0, 0, 0, 0, 0), np.nan)  # matches no recorded shape: an infinite difference


def ne_key(event) -> str:
    return f"event/{event['n']}"


def _first_batch_parting(ke, ne, epoch, tol):
    kb = (ke.get("batch_loss") or [])[epoch:epoch + 1]
    nb = (ne.get("batch_loss") or [])[epoch:epoch + 1]
    if not kb or not nb:
        return None
    for b, (x, y) in enumerate(zip(kb[0], nb[0], strict=False)):
        if rel_diff(x, y) > tol:
            return b
    return None


def _states(arrays, key, epoch, layer):
    """``[(batch, [state arrays])]`` recorded for one stateful layer in one epoch."""
    prefix = f"{key}/states/{epoch}/"
    found: dict[int, dict[int, np.ndarray]] = {}
    for name, value in arrays.items():
        if name.startswith(prefix):
            batch, li, si = (int(p) for p in name[len(prefix):].split("/"))
            if li == layer:
                found.setdefault(batch, {})[si] = value
    return [(b, [found[b][s] for s in sorted(found[b])]) for b in sorted(found)]


def explain_states(keras, ours, k_arrays, n_arrays, parting, tol) -> str | None:
    """Why a stateful fit parts, from the states each side carried, or None."""
    if not parting or parting.get("kind") != "fit" or "epoch" not in parting:
        return None
    ke, ne = keras["events"][parting["event"]], ours["events"][parting["event"]]
    model = keras["models"][ke["model"]]
    backend = keras["backend"]
    for li, layer_name in enumerate(model.get("stateful", [])):
        ks = _states(k_arrays, ne_key(ke), parting["epoch"], li)
        ns = _states(n_arrays, ne_key(ne), parting["epoch"], li)
        if len(ks) < 2 or len(ns) < 2:
            continue
        k_moves = any(rel_diff(ks[0][1], s) > 0 for _, s in ks[1:]) or any(
            np.any(s) for s in ks[0][1])
        n_moves = any(rel_diff(ns[0][1], s) > 0 for _, s in ns[1:]) or any(
            np.any(s) for s in ns[0][1])
        if not k_moves and n_moves:
            cause = (f"Keras ({backend} backend) did not carry the state of {layer_name!r} "
                     "between batches in fit; lstm_np does.")
            if backend == "jax":
                cause += " " + KNOWN["jax-stateful-fit"]
            return cause
        for (b, k_state), (_, n_state) in zip(ks, ns, strict=False):
            if rel_diff(k_state, n_state) > tol:
                return (f"The states carried by {layer_name!r} first differ after batch "
                        f"{b + 1} of epoch {parting['epoch'] + 1}.")
    return None
