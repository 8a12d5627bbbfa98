"""The engine is usable with no Django: importing it loads none, and its tests need none.

The engine tests also pass with Django switched off entirely (the root conftest, which sets
up Django for the app tests, is left out with --confcutdir):

    .venv/bin/python -m pytest -p no:django --confcutdir=tests/engine tests/engine
"""
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

IMPORT_EVERY_ENGINE_MODULE = """
import importlib, pkgutil, sys
import diagnostics.engine as engine
for module in pkgutil.iter_modules(engine.__path__):
    importlib.import_module(f"diagnostics.engine.{module.name}")
for name in engine.__all__:
    getattr(engine, name)
print(sorted(name for name in sys.modules if name == "django" or name.startswith("django.")))
"""

COLLECT_ENGINE_TESTS_WITHOUT_DJANGO = """
import sys, pytest
code = pytest.main(["-p", "no:django", "-p", "no:cacheprovider", "--confcutdir=tests/engine",
                    "--collect-only", "-q", "tests/engine"])
print("django loaded" if "django" in sys.modules else "no django", code)
"""


def run_python(code):
    environment = {name: value for name, value in os.environ.items()
                   if name != "DJANGO_SETTINGS_MODULE"}
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=environment,
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip().splitlines()[-1]


def test_importing_every_engine_module_loads_no_django():
    assert run_python(IMPORT_EVERY_ENGINE_MODULE) == "[]"


def test_the_engine_tests_are_collected_without_django():
    assert run_python(COLLECT_ENGINE_TESTS_WITHOUT_DJANGO) == "no django 0"
