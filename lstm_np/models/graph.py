"""A functional model's graph: Keras' order of its layers, and the graph as JSON-able data.

:func:`map_graph` is Keras' ``map_graph`` (``keras/src/ops/function.py``): the order of
``model.layers`` and of ``get_weights()``. :func:`graph_config` / :func:`graph_from_config`
are ``Model.get_config`` / ``Model.from_config``.

Keras doc: https://keras.io/api/models/model/
"""

from __future__ import annotations

from ..layers.core import InputLayer
from ..layers.serialization import jsonable, layer_from_config, layer_to_config
from ..layers.symbolic import Node, SymbolicTensor


def map_graph(inputs, outputs) -> list:
    """``model.layers`` in Keras' order (``keras/src/ops/function.py``, ``map_graph``), which
    is also the order of ``get_weights()``: layers by decreasing depth from the outputs
    (inputs first), ties broken by the order a depth-first walk from the outputs meets
    them. Creation order is not it: a two-branch model lists the later branch first."""
    input_ids = {id(t) for t in inputs}
    order, post, finished = {}, [], set()

    def walk(tensor):
        node = tensor.node
        is_input = isinstance(node.layer, InputLayer)
        if id(node) in finished:
            return
        if not is_input and id(tensor) in input_ids:
            finished.add(id(node))
            return
        order.setdefault(id(node.layer), len(order))
        if not is_input:
            for t in node.inputs:
                walk(t)
        finished.add(id(node))
        post.append(node)

    for t in outputs:
        walk(t)
    in_graph = {id(n) for n in post}
    node_depth, layer_depth, layers = {}, {}, {}
    for node in reversed(post):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        layers[id(node.layer)] = node.layer
        if not isinstance(node.layer, InputLayer):
            for t in node.inputs:
                if id(t.node) in in_graph:
                    node_depth[id(t.node)] = max(depth + 1, node_depth.get(id(t.node), 0))
    for t in inputs:  # an Input no output uses still belongs to the model
        if isinstance(t.node.layer, InputLayer) and id(t.node.layer) not in layers:
            layers[id(t.node.layer)] = t.node.layer
            layer_depth[id(t.node.layer)], order[id(t.node.layer)] = 0, -1
    return sorted(layers.values(), key=lambda la: (-layer_depth[id(la)], order[id(la)]))



def graph_config(model) -> dict:
    """A functional model as JSON-able data: its layers' configs, its nodes (which layer is
    called on which tensors: ``{"__tensor__": [node, output index]}``), inputs, outputs."""
    nodes = [t.node for t in model._inputs] + model.nodes
    node_index = {id(n): i for i, n in enumerate(nodes)}
    layer_index = {id(la): i for i, la in enumerate(model._layers)}

    def ref(structure):
        if isinstance(structure, SymbolicTensor):
            return {"__tensor__": [node_index[id(structure.node)], structure.index]}
        if isinstance(structure, (list, tuple)):
            return [ref(s) for s in structure]
        if isinstance(structure, dict):
            return {k: ref(v) for k, v in structure.items()}
        return jsonable(structure)

    return {
        "name": model.name, "trainable": model.trainable,
        "layers": [layer_to_config(la) for la in model._layers],
        "nodes": [{"layer": layer_index[id(n.layer)], "args": ref(list(n.args)),
                   "kwargs": ref(n.kwargs)} for n in nodes],
        "inputs": ref(model._inputs if not model._single_input else model._inputs[0]),
        "outputs": ref(model._outputs if not model._single_output else model._outputs[0]),
    }


def graph_from_config(cfg, model_cls):
    """Replay :func:`graph_config`'s nodes on new layers and build ``model_cls`` on them."""
    layers = [layer_from_config(spec) for spec in cfg["layers"]]
    produced: list[list] = []

    def resolve(structure):
        if isinstance(structure, dict) and "__tensor__" in structure:
            i, j = structure["__tensor__"]
            return produced[i][j]
        if isinstance(structure, list):
            return [resolve(s) for s in structure]
        if isinstance(structure, dict):
            return {k: resolve(v) for k, v in structure.items()}
        return structure

    for node_cfg in cfg["nodes"]:
        layer = layers[node_cfg["layer"]]
        if isinstance(layer, InputLayer):
            node = Node(layer, (), {}, [])
            node.outputs = [SymbolicTensor(layer.batch_input_shape, node=node, name=layer.name)]
            produced.append(node.outputs)
            continue
        args = resolve(node_cfg["args"])
        kwargs = resolve(node_cfg["kwargs"])
        out = layer(*args, **kwargs)
        produced.append(out if isinstance(out, list) else [out])
    return model_cls(resolve(cfg["inputs"]), resolve(cfg["outputs"]), name=cfg["name"],
                     trainable=cfg.get("trainable", True))
