"""``model.summary()``: Keras' table of layers, output shapes and parameter counts."""

from __future__ import annotations


def _shape_text(shape):
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def summary_lines(model, line_length=80) -> list[str]:
    """The lines ``summary()`` prints: one row per layer, then the parameter totals."""
    model.ensure_built()
    widths = (int(line_length * 0.45), int(line_length * 0.33))
    rows = []
    outputs = {}
    for node in model.nodes:
        shapes = [t.shape for t in node.outputs]
        outputs.setdefault(id(node.layer), shapes[0] if len(shapes) == 1 else shapes)
    for layer in model.layers:
        shape = outputs.get(id(layer), getattr(layer, "batch_input_shape", None))
        kind = type(layer).__name__
        kind = "Functional" if kind == "Model" else kind  # Keras' name for the class
        rows.append((f"{layer.name} ({kind})",
                     _shape_text(shape) if shape is not None else "?",
                     str(layer.count_params())))
    flags = model._trainable_flags()
    sizes = [w.size for w in model.weights]
    trainable = sum(s for s, f in zip(sizes, flags, strict=False) if f)
    total = sum(sizes)
    rule = "=" * line_length

    def fmt(a, b, c):
        return f"{a:<{widths[0]}}{b:<{widths[1]}}{c}"

    lines = [f'Model: "{model.name}"', "_" * line_length,
             fmt("Layer (type)", "Output Shape", "Param #"), rule]
    lines += [fmt(*r) for r in rows]
    lines += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}", "_" * line_length]
    return lines


def summary(model, line_length=80, print_fn=None, **kwargs) -> None:
    for line in summary_lines(model, line_length):
        (print_fn or print)(line)
