"""``lstm-np inspect`` and ``lstm-np verify``: open a Keras model file, and diff it layer by layer.

* ``lstm-np inspect model.keras`` prints the layers, output shapes and parameter counts as
  Keras' ``model.summary()`` does, from the lstm_np model the file loads into.
* ``lstm-np verify model.keras [--input x.npy | --random N] [--tol 1e-5]`` runs the model in
  Keras and in lstm_np on the same input and prints, for every layer output, the largest
  absolute difference and the largest difference relative to the Keras output's magnitude
  (``max|lstm_np - keras| / max|keras|``). Exit status 0 when every row is within ``--tol``
  (absolute), 1 when one is not, 2 when it could not run (no Keras, bad file, bad input).

These are click commands; ``lstm_np.tools.cli`` registers them on the ``lstm-np`` group.
"""

from __future__ import annotations

import os
import warnings

import click
import numpy as np

from ..interop.keras_files import load_keras
from ..interop.keras_weights import children, is_model
from ..layers import Embedding
from ..models import Model


def _fail(message: str, code: int = 2):
    exc = click.ClickException(message)
    exc.exit_code = code
    return exc


def _load(path, engine=None):
    try:
        return load_keras(path, engine=engine)
    except (OSError, ValueError, TypeError, ImportError) as exc:
        raise _fail(str(exc)) from None


def _weight_entries(model, prefix: str = "") -> list[tuple[str, tuple]]:
    """``(path/name, shape)`` per weight array, in Keras order."""
    entries = []
    for layer in children(model):
        if is_model(layer):
            entries += _weight_entries(layer, f"{prefix}{layer.name}/")
            continue
        arrays = layer.get_weights()
        names = list(getattr(layer, "weight_names", []))
        inner = getattr(layer, "layer", None)  # TimeDistributed keeps them in the inner layer
        if len(names) != len(arrays) and inner is not None:
            names = [f"{inner.name}/{n}" for n in getattr(inner, "weight_names", [])]
        if len(names) != len(arrays):
            names = [str(i) for i in range(len(arrays))]
        entries += [(f"{prefix}{layer.name}/{n}", a.shape) for n, a in zip(names, arrays,
                                                                            strict=True)]
    return entries


@click.command("inspect")
@click.argument("path", type=click.Path(dir_okay=True))
@click.option("--weights", "show_weights", is_flag=True,
              help="Also list every weight array (Keras order and layout) with its shape.")
def inspect_command(path, show_weights):
    """Print the layers, output shapes and parameter counts of a Keras model file."""
    model = _load(path)
    model.summary(print_fn=click.echo)
    if show_weights:
        click.echo("Weights (Keras order; gates along the last axis: LSTM i,f,c,o; GRU z,r,h):")
        entries = _weight_entries(model)
        width = max((len(name) for name, _ in entries), default=0)
        for name, shape in entries:
            click.echo(f"  {name:<{width}}  {shape}")


# ---------------------------------------------------------------------- verify
def _inputs_from_file(path: str) -> list[np.ndarray]:
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise _fail(f"--input {path!r} is not a .npy/.npz array file: {exc}") from None
    if isinstance(data, np.ndarray):
        return [data]
    return [data[k] for k in data.files]  # .npz: one array per model input, in order


def _vocabulary(model) -> int:
    """The smallest Embedding input_dim, so random token ids stay in range."""
    sizes = [layer.input_dim for layer in _all_layers(model) if isinstance(layer, Embedding)]
    return min(sizes) if sizes else 10


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def random_inputs(model, n: int, timesteps: int, seed: int) -> list[np.ndarray]:
    """``n`` random samples for each model input (None dims become ``timesteps``): normal
    floats, or token ids with every other sequence left-padded with 0 (Keras' padding id)."""
    rng = np.random.default_rng(seed)
    out = []
    for tensor in model.inputs:
        dims = [timesteps if d is None else d for d in tensor.shape[1:]]
        shape = (n if tensor.shape[0] is None else tensor.shape[0], *dims)
        if str(tensor.dtype).startswith(("int", "uint")):
            ids = rng.integers(1, _vocabulary(model), size=shape).astype(str(tensor.dtype))
            if ids.ndim == 2:  # pad every other sequence with leading 0s (masked with mask_zero)
                for row in range(1, shape[0], 2):
                    ids[row, :rng.integers(1, shape[1] // 2 + 2)] = 0
            out.append(ids)
        else:
            out.append(rng.normal(size=shape).astype("float32"))
    return out


def _probes(np_model):
    """``(label, layer, call, output index, symbolic tensor, node)`` per layer output."""
    calls: dict[int, int] = {}
    rows = []
    for node in np_model.nodes:
        k = calls[id(node.layer)] = calls.get(id(node.layer), -1) + 1
        for i, tensor in enumerate(node.outputs):
            label = node.layer.name + (f"#{k}" if k else "") + \
                (f"[{i}]" if len(node.outputs) > 1 else "")
            rows.append((label, node.layer, k, i, tensor, node))
    return rows


def _keras_tensor(k_model, layer_name: str, call: int, index: int):
    layer = k_model.get_layer(layer_name)
    nodes = [n for n in layer._inbound_nodes if n.operation is layer]
    if type(layer).__name__ in ("Functional", "Sequential") and len(nodes) > call + 1:
        nodes = nodes[1:]  # a nested model's first node is its own internal graph
    outputs = nodes[call].output_tensors
    return outputs[index]


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _row(label, kind, k, n, keras):
    k = np.asarray(keras.ops.convert_to_numpy(k), dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if k.shape != n.shape:
        return (label, kind, f"{n.shape} vs keras {k.shape}", np.inf, np.inf)
    diff = float(np.max(np.abs(n - k))) if k.size else 0.0
    scale = float(np.max(np.abs(k))) if k.size else 0.0
    return (label, kind, str(k.shape), diff, diff / max(scale, 1e-30))


def compare(k_model, np_model, xs, keras, prefix: str = ""):
    """Rows ``(label, class, shape, max_abs, max_rel)`` for every layer output we can probe
    (the layers of nested models too, fed the same inputs on both sides, labelled
    ``outer/inner``), then the model outputs."""
    single = len(xs) == 1
    xs_in = xs[0] if single else xs

    def one(inputs):
        return inputs[0] if single else inputs

    wanted, nested = [], []
    for label, layer, call, index, tensor, node in _probes(np_model):
        try:
            wanted.append((prefix + label, type(layer).__name__,
                           _keras_tensor(k_model, layer.name, call, index), tensor))
        except (ValueError, IndexError, AttributeError):
            continue  # Keras has no such tensor to show (e.g. renamed); the output row remains
        if hasattr(layer, "layers") and call == 0 and index == 0:
            nested.append((len(wanted), layer, node.inputs))
    input_ids = [id(t) for t in np_model.inputs]
    feeders = [t for _, _, ts in nested for t in ts if id(t) not in input_ids]
    rows = []
    try:
        k_values = _as_list(keras.Model(one(k_model.inputs), [w[2] for w in wanted])(xs_in))
        n_values = _as_list(Model(one(np_model.inputs),
                                          [w[3] for w in wanted] + feeders)(xs_in))
    except Exception:  # noqa: BLE001 - per-layer probing is best effort; outputs still compared
        wanted, nested = [], []
    fed = dict(zip(map(id, feeders), n_values[len(wanted):], strict=True)) if wanted else {}
    fed.update(zip(input_ids, xs, strict=True))
    inner_rows = {}
    for position, layer, inputs in nested:
        inner_xs = [np.asarray(fed[id(t)]) for t in inputs]
        inner_rows[position] = compare(k_model.get_layer(layer.name), layer, inner_xs, keras,
                                       prefix=f"{prefix}{layer.name}/")[:-1]
    for i, (label, kind, _, _) in enumerate(wanted):
        rows.append(_row(label, kind, k_values[i], n_values[i], keras))
        rows += inner_rows.get(i + 1, [])
    k_final, n_final = _as_list(k_model(xs_in)), _as_list(np_model(xs_in))
    for i, (k, n) in enumerate(zip(k_final, n_final, strict=True)):
        name = f"{prefix}output {i}" if len(k_final) > 1 else f"{prefix}output"
        rows.append(_row(name if prefix else "model " + name, "", k, n, keras))
    return rows


@click.command("verify")
@click.argument("path", type=click.Path(dir_okay=True))
@click.option("--input", "input_path", type=click.Path(dir_okay=False),
              help="A .npy array (or .npz, one array per model input) to run both models on.")
@click.option("--random", "n_random", type=click.IntRange(min=1), default=None,
              help="Run on N random samples instead (the default, with N=4).")
@click.option("--timesteps", type=click.IntRange(min=1), default=10, show_default=True,
              help="Timesteps of random inputs where the model leaves them free.")
@click.option("--tol", type=click.FloatRange(min=0), default=1e-5, show_default=True,
              help="Largest absolute difference accepted, for every layer output.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of random inputs.")
@click.option("--engine", type=click.Choice(["numba", "numpy"]), default=None,
              help="lstm_np engine of the recurrent layers (default: numba).")
def verify_command(path, input_path, n_random, timesteps, tol, seed, engine):
    """Run a Keras model file in Keras and in lstm_np and diff every layer's output."""
    if input_path is not None and n_random is not None:
        raise _fail("Give --input FILE or --random N, not both.")
    try:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras
    except ImportError:
        raise _fail("verify needs Keras 3 to compute the reference outputs: pip install keras "
                    "(and a backend such as torch). `lstm-np inspect` works without it.") from None
    np_model = _load(path, engine)
    try:
        k_model = keras.saving.load_model(os.fspath(path), compile=False)
    except Exception as exc:  # noqa: BLE001 - any Keras failure is reported, not a traceback
        raise _fail(f"Keras could not load {path!r}: {exc}") from None
    if input_path is not None:
        xs = _inputs_from_file(input_path)
    else:
        xs = random_inputs(np_model, n_random or 4, timesteps, seed)
    if len(xs) != len(np_model.inputs):
        raise _fail(f"The model has {len(np_model.inputs)} input(s); --input gave {len(xs)} "
                    "array(s) (use an .npz with one array per input).")
    try:
        with warnings.catch_warnings():  # Keras' input-structure notes are noise here
            warnings.simplefilter("ignore", UserWarning)
            rows = compare(k_model, np_model, xs, keras)
    except (ValueError, TypeError) as exc:
        raise _fail(f"Could not run the model on the input: {exc}") from None
    width = max(len(r[0]) + len(r[1]) + 3 for r in rows)
    click.echo(f"{'layer':<{width}} {'output shape':<18} {'max abs':>10} {'max rel':>10}")
    bad = 0
    for label, kind, shape, max_abs, max_rel in rows:
        ok = max_abs <= tol
        bad += not ok
        name = f"{label} ({kind})" if kind else label
        click.echo(f"{name:<{width}} {shape:<18} {max_abs:>10.2e} {max_rel:>10.2e}  "
                   f"{'OK' if ok else 'ABOVE TOL'}")
    click.echo(f"{len(rows) - bad}/{len(rows)} outputs within tol={tol:g}"
               f" ({xs[0].shape[0]} samples).")
    if bad:
        raise SystemExit(1)


@click.group(name="lstm-np-interop")
def interop_cli():
    """The interop commands on their own: python -m lstm_np.tools.keras_check inspect|verify ..."""


interop_cli.add_command(inspect_command)
interop_cli.add_command(verify_command)

if __name__ == "__main__":  # pragma: no cover - exercised through the click runner in tests
    interop_cli()
