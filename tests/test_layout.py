"""The package's shape: no import cycles, and lower layers never import higher ones."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nbtzip"

# Each module's layer; a module may import from its own layer or lower ones only.
LAYERS = [
    {"numeric", "kernelcache", "crc", "sample"},
    {"coding", "alphabet", "config"},
    {"rnn", "ctw", "mix"},  # the models
    {"models", "framing", "memlimit"},
    {"container", "atomic"},
    {"parallel", "nbtfile", "api"},
    {"cli", "__init__", "__main__"},
]


def _module_name(path):
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__") or "__init__"


def _imports(path):
    """Package-relative names of the nbtzip modules that path imports, anywhere in it."""
    name = _module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    if name == "__init__":
        package = []
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and node.module.startswith("nbtzip"):
                target = node.module[len("nbtzip") :].lstrip(".")
            else:
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}" if target else alias.name
                found.add(candidate if _exists(candidate) else (target or "__init__"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "nbtzip" or alias.name.startswith("nbtzip."):
                    found.add(alias.name[len("nbtzip") :].lstrip(".") or "__init__")
    return {t for t in found if t != name}


def _exists(name):
    base = PACKAGE.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _graph():
    return {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _layer(name):
    top = name.split(".")[0]
    for level, names in enumerate(LAYERS):
        if top in names:
            return level
    raise AssertionError(f"module {name} has no layer in tests/test_layout.py")


def test_no_module_imports_a_higher_layer():
    wrong = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if _layer(target) > _layer(module)
    ]
    assert wrong == []


def test_there_is_no_import_cycle():
    graph = _graph()
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in graph.get(node, ()):
            if state.get(nxt) == "open":
                raise AssertionError("import cycle: " + " -> ".join([*path, node, nxt]))
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [])


def test_no_module_but_the_entry_points_imports_the_package_itself():
    users = [m for m, targets in _graph().items() if "__init__" in targets]
    assert users == ["__main__"] or users == []
