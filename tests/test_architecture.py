"""The package's shape, read from its source with ``ast`` (see docs/architecture.md).

Every ``lstm_np/**/*.py`` is parsed; every import in it (module level and inside functions)
that names an lstm_np module is mapped to the *part* it belongs to. Parts are ordered:

    base (config, activations, utils, arrays, ...) <- ops <- kernels <- layers <- models
    <- file formats (interop, saving) <- entry points (lstm_np/__init__, tools)

A module may import only from its own part or from parts to its left, so the parts form no
cycle. Also checked: ``ops`` is pure NumPy (no engine plumbing in its signatures), no module
assigns onto a class it imported from another module, and no package file reaches 500 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lstm_np"

#: Parts, left (depended on) to right (depending). Keys are dotted module prefixes; the
#: longest matching prefix decides.
PARTS = ["base", "ops", "kernels", "layers", "models", "file formats", "entry points"]
PREFIXES = {
    "lstm_np.config": "base",
    "lstm_np.activations": "base",
    "lstm_np.utils": "base",
    "lstm_np.arrays": "base",
    "lstm_np.losses": "base",
    "lstm_np.metrics": "base",
    "lstm_np.optimizers": "base",
    "lstm_np.data": "base",
    "lstm_np.datasets": "base",
    "lstm_np.preprocessing": "base",
    "lstm_np.regularizers": "base",
    "lstm_np.constraints": "base",
    "lstm_np.schedules": "base",
    "lstm_np.backend": "base",
    "lstm_np.ops": "ops",
    "lstm_np.kernels": "kernels",
    "lstm_np.initializers": "layers",
    "lstm_np.layers": "layers",
    "lstm_np.models": "models",
    "lstm_np.callbacks": "models",
    "lstm_np.interop": "file formats",
    "lstm_np.saving": "file formats",
    "lstm_np.tools": "entry points",
    "lstm_np": "entry points",  # lstm_np/__init__.py
}
MAX_LINES = 500
ENGINE_PARAMETERS = {"engine", "workspace", "keep", "check"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    best = max((p for p in PREFIXES if module == p or module.startswith(p + ".")), key=len)
    return PREFIXES[best]


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(importer: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, imported lstm_np module) for every import in ``path``, at any depth."""
    known = modules()
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node.level, node.module)
            # `from . import x` / `from .pkg import x`: x may be a module of its own
            targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in known else target
                       for a in node.names]
        else:
            continue
        found += [(node.lineno, t) for t in targets if t == "lstm_np" or
                  t.startswith("lstm_np.")]
    return found


def test_every_module_has_a_part():
    for module in modules():
        assert part_of(module) in PARTS, module


def test_imports_flow_one_way():
    upward = []
    for module, path in modules().items():
        mine = PARTS.index(part_of(module))
        for line, target in imports(module, path):
            if PARTS.index(part_of(target)) > mine:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({part_of(module)}) "
                              f"imports {target} ({part_of(target)})")
    assert not upward, "imports against the direction of the parts:\n" + "\n".join(upward)


def test_no_cycle_between_parts():
    edges = {p: set() for p in PARTS}
    for module, path in modules().items():
        for _, target in imports(module, path):
            if part_of(target) != part_of(module):
                edges[part_of(module)].add(part_of(target))

    def reaches(start, goal, seen=()):
        return any(n == goal or (n not in seen and reaches(n, goal, (*seen, n)))
                   for n in edges[start])

    assert not [p for p in PARTS if reaches(p, p)], edges


def test_ops_is_pure_numpy():
    """ops imports only the base part, and its functions take no engine plumbing."""
    for module, path in modules().items():
        if part_of(module) != "ops":
            continue
        for line, target in imports(module, path):
            assert part_of(target) in ("base", "ops"), f"{module}:{line} imports {target}"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                a = node.args
                names = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
                assert not names & ENGINE_PARAMETERS, f"{module}.{node.name}: {names}"


def test_no_assignment_onto_imported_classes():
    """``Model.save = ...`` belongs in the module that defines ``Model`` (no monkey-patching)."""
    patched = []
    for module, path in modules().items():
        tree = ast.parse(path.read_text())
        imported = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                    for a in n.names if (a.asname or a.name)[:1].isupper()}
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id == "setattr" and node.args):
                targets = [ast.Attribute(value=node.args[0], attr="?")]
            for t in targets:
                if (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                        and t.value.id in imported):
                    patched.append(f"{module}:{node.lineno} assigns {t.value.id}.{t.attr}")
    assert not patched, "\n".join(patched)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_package_files_stay_short(path):
    lines = len(path.read_text().splitlines())
    assert lines < MAX_LINES, f"{path.relative_to(PACKAGE.parent)} has {lines} lines"
