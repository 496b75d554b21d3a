"""The dependency rule of the hexagon, checked by walking every module's imports."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("domain", "application", "adapters", "entrypoints")
STDLIB = set(sys.stdlib_module_names)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def modules(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("path", modules("domain"), ids=lambda p: str(p.relative_to(ROOT)))
def test_domain_is_pure(path):
    for name in imports_of(path):
        top = name.split(".")[0]
        assert top in STDLIB | {"attrs", "numpy", "domain", "__future__"}, f"{path}: imports {name}"
        assert top not in {"os", "socket", "sqlite3", "time", "subprocess", "pathlib", "random"}, f"{path}: I/O {name}"


@pytest.mark.parametrize("path", modules("application"), ids=lambda p: str(p.relative_to(ROOT)))
def test_application_imports_only_the_domain(path):
    for name in imports_of(path):
        top = name.split(".")[0]
        assert top not in {"adapters", "entrypoints", "sqlite3", "socket", "subprocess"}, f"{path}: imports {name}"


@pytest.mark.parametrize("path", modules("adapters"), ids=lambda p: str(p.relative_to(ROOT)))
def test_adapters_never_import_each_other(path):
    own = path.relative_to(ROOT / "adapters").parts[0].removesuffix(".py")
    for name in imports_of(path):
        parts = name.split(".")
        if parts[0] == "adapters" and len(parts) > 1:
            assert parts[1] == own, f"{path}: imports another adapter {name}"
        assert parts[0] != "entrypoints", f"{path}: imports {name}"


def test_nothing_happens_at_import():
    """Importing every module opens no database and starts nothing (a fresh interpreter)."""
    import subprocess

    names = [".".join(p.relative_to(ROOT).with_suffix("").parts) for layer in LAYERS for p in modules(layer)]
    names = [n.removesuffix(".__init__") for n in names]
    code = "import importlib, sys\nfor n in sys.argv[1:]: importlib.import_module(n)\nprint('ok')"
    result = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True, cwd=ROOT / "tests",
                            env={"PATH": "", "HOME": str(ROOT / "tests" / ".no-home")}, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr
    assert not (ROOT / "tests" / ".no-home").exists(), "an import touched the user's data directory"
