"""``lstm-np explain``: what a recurrent layer does with an input shape, in words and shapes.

``explain("LSTM(4, return_sequences=True)", (32, 3, 1))`` returns a text with the weight
shapes (and the gate blocks inside them), the parameter count, the output shapes, and a
small diagram of which time steps emit an output (many-to-one vs many-to-many) and of
what a stateful layer carries from batch k to batch k+1.

The layer spec is parsed with :mod:`ast` (never ``eval``): one call of a recurrent layer
lstm_np has, with literal arguments only.
"""

from __future__ import annotations

import ast

from .. import layers

#: Symbols of the weights in the equations (docs/lstm_internals.md).
SYMBOLS = {"kernel": "W", "recurrent_kernel": "U", "bias": "b"}
#: Gate blocks along the last axis of each kernel, in Keras' order.
GATES = {"LSTM": ("i", "f", "c", "o"), "GRU": ("z", "r", "h"), "SimpleRNN": ()}
#: The recurrent layers lstm_np has now (GRU and SimpleRNN join when they land).
LAYERS = {name: getattr(layers, name) for name in GATES if hasattr(layers, name)}


def parse_layer_spec(spec: str):
    """Build a layer from a spec such as ``"LSTM(4, return_sequences=True)"``.

    Only a call of a known layer with literal arguments (numbers, strings, booleans,
    None, tuples, lists) is accepted; anything else raises ``ValueError``.
    """
    known = ", ".join(LAYERS)
    hint = f'Expected a layer call such as "LSTM(4, return_sequences=True)"; layers: {known}.'
    try:
        tree = ast.parse(spec.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"Cannot parse layer spec {spec!r}: {exc.msg}. {hint}") from None
    call = tree.body
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        raise ValueError(f"Layer spec {spec!r} is not a layer call. {hint}")
    name = call.func.id
    if name not in LAYERS:
        raise ValueError(f"Unknown layer {name!r} in {spec!r}. {hint}")
    try:
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {}
        for kw in call.keywords:
            if kw.arg is None:
                raise ValueError("**kwargs")
            kwargs[kw.arg] = ast.literal_eval(kw.value)
    except ValueError:
        raise ValueError(
            f"Layer spec {spec!r}: arguments must be literals (numbers, strings, True/False, "
            f"None, tuples); no variables, expressions or **kwargs. {hint}"
        ) from None
    try:
        return LAYERS[name](*args, **kwargs)
    except (TypeError, NotImplementedError) as exc:
        raise ValueError(f"Layer spec {spec!r}: {exc}") from None


def parse_input_shape(text: str) -> tuple:
    """``"32,3,1"`` -> ``(32, 3, 1)`` (batch, timesteps, features); the batch may be None."""
    parts = [p.strip() for p in str(text).strip("()[] ").split(",") if p.strip()]
    shape = []
    for p in parts:
        if p.lower() == "none":
            shape.append(None)
        elif p.isdigit() and int(p) > 0:
            shape.append(int(p))
        else:
            shape = None
            break
    if shape is None or len(shape) != 3 or None in shape[1:]:
        raise ValueError(
            f"--input-shape must be three positive integers batch,timesteps,features (the "
            f"batch may be None), e.g. 32,3,1; got {text!r}."
        )
    return tuple(shape)


def _positions_shown(T: int) -> list:
    """Processing positions drawn in the diagram: all of them up to 6, else 1, 2, 3, ..., T."""
    return list(range(1, T + 1)) if T <= 6 else [1, 2, 3, None, T]


def _diagram(layer, B, T, F, out_shape) -> list[str]:
    kind = type(layer).__name__
    states = ", ".join(layer.state_names)
    positions = _positions_shown(T)
    w = max(7, len(str(T)) + 4)

    def row(label, cells, note=""):
        line = f"  {label:<9}" + "".join(f"{c:^{w}}" for c in cells)
        return (line + (f"   {note}" if note else "")).rstrip()

    def cells(fmt):
        return ["..." if p is None else fmt(p) for p in positions]

    # go_backwards reads the last input step first (processing position p reads T + 1 - p).
    step_of = (lambda p: T + 1 - p) if layer.go_backwards else (lambda p: p)
    last = len(positions) - 1
    lines = [row("step", cells(str), "(processing order)" if layer.go_backwards else ""),
             row("input", cells(lambda p: f"x{step_of(p)}"), f"x_t: ({B}, {F}) per step"),
             row("", ["|"] * len(positions)),
             row(kind, cells(lambda p: "[" + ",".join(layer.state_names) + "]"),
                 f"({states}) carried step to step, ({B}, {layer.units}) each")]
    if layer.return_sequences:
        lines.append(row("", ["|"] * len(positions)))
        lines.append(row("output", cells(lambda p: f"y{p}"),
                         f"every step emits its h: output {out_shape}"))
        lines.append("  many-to-many (return_sequences=True): one output per time step"
                     + (f"; in processing order: y1 comes from input step {T}, "
                        f"y{T} from input step 1 (not flipped back)" if layer.go_backwards
                        else ""))
    else:
        lines.append(row("", [" "] * last + ["|"]))
        lines.append(row("output", [""] * last + [f"y{T}"],
                         f"only the last step emits: output {out_shape}"))
        lines.append("  many-to-one (return_sequences=False): one output per sample"
                     + ("; the last step processed reads input step 1" if layer.go_backwards
                        else ""))
    return lines


def _stateful_lines(layer, B, T) -> list[str]:
    states = ", ".join(layer.state_names)
    if not layer.stateful:
        return ["Not stateful: every call (every batch) starts from zero states; nothing "
                "carries from batch k to batch k+1."]
    return [
        f"Stateful: the batch size is fixed at {B}; row j of batch k+1 starts from the final "
        f"({states}) of row j of batch k:",
        f"  batch k  : row j  x1 -> ... -> x{T}  ==> ({states})_j",
        f"  batch k+1: row j  ({states})_j -> x1 -> ... -> x{T}  ==> ...",
        "  so row j of consecutive batches must be consecutive pieces of one sequence "
        "(fit with shuffle=False),",
        "  fit never resets them by itself: reset_state() (Keras 2: model.reset_states()) "
        "zeroes them, e.g. after each epoch or each independent sequence.",
    ]


def explain(layer, input_shape) -> str:
    """The explanation printed by ``lstm-np explain`` (``layer`` may be a spec string)."""
    if isinstance(layer, str):
        layer = parse_layer_spec(layer)
    if isinstance(input_shape, str):
        input_shape = parse_input_shape(input_shape)
    B, T, F = input_shape
    declared = layer.batch_input_shape  # Keras 2 spellings in the spec (batch_input_shape=...)
    if declared is not None:
        if B is None and declared[0] is not None:
            B = declared[0]
        if len(declared) == 3 and declared[-1] is not None and declared[-1] != F:
            raise ValueError(
                f"The spec declares input shape {declared} ({declared[-1]} features) but "
                f"--input-shape gives {F} features; make them agree."
            )
    if layer.stateful and B is None:
        raise ValueError(
            "A stateful layer needs a fixed batch size: give --input-shape with a number "
            f"for the batch, e.g. 32,{T},{F} (Keras 3: Input(batch_shape=(32, {T}, {F})))."
        )
    if not layer.built:
        layer.build((B, T, F))
    kind = type(layer).__name__
    b = B
    out = layer.compute_output_shape((b, T, F))
    gates = GATES.get(kind, ())
    lines = [f"{kind}(units={layer.units}) on input (batch, timesteps, features) = "
             f"({b}, {T}, {F})", "", "Weights (Keras order):"]
    for name, w in zip(layer.weight_names, layer.weights, strict=True):
        blocks = ""
        if gates and w.shape[-1] == len(gates) * layer.units:
            sym = SYMBOLS.get(name, name)
            blocks = "  = [" + " | ".join(f"{sym}_{g}" for g in gates) + \
                f"], each {(*w.shape[:-1], layer.units)}"
        lines.append(f"  {name:<17}{str(w.shape):<10}{w.size:>8} parameters{blocks}")
    sizes = " + ".join(str(w.size) for w in layer.weights)
    lines.append(f"  total: {sizes} = {layer.count_params()} parameters")
    lines.append("")
    if layer.return_state:
        names = ", ".join(layer.state_names)
        lines.append(f"Output (return_state=True): [output, {names}] = "
                     + ", ".join(str(s) for s in out))
        out_main = out[0]
    else:
        lines.append(f"Output: {out}")
        out_main = out
    lines.append("")
    lines += _diagram(layer, b, T, F, out_main)
    lines.append("")
    lines += _stateful_lines(layer, b, T)
    return "\n".join(lines)


__all__ = ["explain", "parse_layer_spec", "parse_input_shape"]
