"""Queueing belongs to diagnostics.tasks: services compute and return what is to be queued."""
import ast
from pathlib import Path

from diagnostics import services


def imported_modules(module):
    tree = ast.parse(Path(module.__file__).read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_services_compute_and_never_queue_work_themselves():
    imported = imported_modules(services)
    assert "diagnostics.tasks" not in imported
    assert not any(name == "celery" or name.startswith("celery.") for name in imported)
