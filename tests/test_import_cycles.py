"""No import cycles: modules that import each other cannot be understood, tested or moved one
at a time. Every import counts, including relative ones and those inside functions (a lazy
import hides a cycle from Python, not from the reader)."""
import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def import_cycles(package_dir, package_name):
    """Import cycles among the modules of a package: a sorted list of cycles, each a sorted
    list of module names that import one another (directly or through each other)."""
    graph = import_graph(package_dir, package_name)
    return sorted(sorted(component) for component in _strongly_connected(graph)
                  if len(component) > 1)


def import_graph(package_dir, package_name):
    """{module: set of modules of the same package it imports}, from the source with ast."""
    modules = {}
    for path in sorted(Path(package_dir).rglob("*.py")):
        parts = path.relative_to(package_dir).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join((package_name, *(parts[:-1] if is_package else parts)))
        modules[name] = (path, is_package)
    return {name: {target for target in _imported_names(path, name, is_package)
                   if target in modules and target != name}
            for name, (path, is_package) in modules.items()}


def _imported_names(path, module_name, is_package):
    # Each import, anywhere in the file, as the most specific module name it may refer to:
    # `from .a import b` may import module a.b or name b of a, so both are yielded.
    package = module_name if is_package else module_name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _strongly_connected(graph):
    """Tarjan's algorithm, iterative: the graph's strongly connected components."""
    index, lowlink, on_stack, stack, components = {}, {}, set(), [], []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = lowlink[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = lowlink[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    lowlink[node] = min(lowlink[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    lowlink[parent] = min(lowlink[parent], lowlink[node])
                if lowlink[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
    return components


def write_package(root, files):
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root


def test_the_engine_has_no_import_cycle():
    engine = REPO_ROOT / "diagnostics" / "engine"
    assert import_cycles(engine, "diagnostics.engine") == []


@pytest.mark.parametrize("app", ["diagnostics", "imaging", "patients", "accounts", "api", "cases",
                                 "backups", "celinsight"])
def test_no_app_has_an_import_cycle(app):
    assert import_cycles(REPO_ROOT / app, app) == []


def test_a_cycle_through_a_function_level_relative_import_is_found(tmp_path):
    package = write_package(tmp_path / "pkg", {
        "__init__.py": "",
        "a.py": "from .b import helper\n",
        "b.py": "def helper():\n    from . import a\n    return a\n",
        "c.py": "import pkg.a\n",
    })
    assert import_cycles(package, "pkg") == [["pkg.a", "pkg.b"]]


def test_a_longer_cycle_across_subpackages_is_found(tmp_path):
    package = write_package(tmp_path / "pkg", {
        "__init__.py": "",
        "sub/__init__.py": "from .x import X\n",
        "sub/x.py": "from ..y import Y\nX = 1\n",
        "y.py": "from pkg.z import Z\nY = 1\n",
        "z.py": "import pkg.sub.x\nZ = 1\n",
    })
    assert import_cycles(package, "pkg") == [["pkg.sub.x", "pkg.y", "pkg.z"]]


def test_imports_in_one_direction_are_no_cycle(tmp_path):
    package = write_package(tmp_path / "pkg", {
        "__init__.py": "from .a import A\n",
        "a.py": "from .b import B\nimport json\nA = 1\n",
        "b.py": "B = 1\n",
    })
    assert import_cycles(package, "pkg") == []
