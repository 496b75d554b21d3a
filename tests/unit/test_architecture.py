"""The dependency rule of the hexagon, checked by walking every module's imports."""

from __future__ import annotations

import ast
import re
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


def absolute_imports_of(path: Path, text: str | None = None) -> set[str]:
    """Every module a file imports, relative imports resolved and `from a import b` counted as a.b too
    (b may be a module), so a package's arrows see `from application import records` as well."""
    package = ".".join(path.relative_to(ROOT).parent.parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text() if text is None else text, filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def documented_arrows() -> dict[str, set[str]]:
    """The arrows of docs/architecture.md (its ```arrows blocks): 'application.reports -> trading, safety'."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    arrows = {}
    for block in re.findall(r"```arrows\n(.*?)```", text, flags=re.S):
        for line in block.strip().splitlines():
            source, _, targets = line.partition("->")
            arrows[source.strip()] = {t.strip() for t in targets.split(",") if t.strip()}
    return arrows


ARROWS = documented_arrows()


def packages(layer: str) -> list[str]:
    return sorted(p.name for p in (ROOT / layer).iterdir() if p.is_dir() and (p / "__init__.py").exists())


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


@pytest.mark.parametrize("layer", ["domain", "application"])
def test_every_package_has_documented_arrows(layer):
    """A new capability package is placed on purpose: its line in docs/architecture.md comes with it."""
    assert ARROWS, "docs/architecture.md has no arrows block"
    missing = [name for name in packages(layer) if f"{layer}.{name}" not in ARROWS]
    assert not missing, f"{layer} packages without arrows in docs/architecture.md: {missing}"
    unknown = [source for source in ARROWS if source.startswith(f"{layer}.") and source.split(".")[1] not in packages(layer)]
    assert not unknown, f"docs/architecture.md names packages that do not exist: {unknown}"


def arrow_violations(path: Path, layer: str, text: str | None = None) -> list[str]:
    """The imports of a module inside `layer` that follow no documented arrow.

    A module at the layer's top level is shared: everyone may import it. A shared module may import
    other shared modules, and in application/ the packages' ports modules only (the unit of work
    names every package's repositories); in domain/ the core packages its arrow line allows."""
    parts = path.relative_to(ROOT / layer).parts
    own = parts[0] if len(parts) > 1 else None
    allowed = ARROWS.get(f"{layer}.{own}", set()) if own else set()
    bad = []
    for name in absolute_imports_of(path, text):
        target = name.split(".")
        if target[0] != layer or len(target) < 2 or not (ROOT / layer / target[1]).is_dir():
            continue  # another layer (checked above), the layer itself, or a shared top-level module
        package = target[1]
        if package == own or package in allowed:
            continue
        if own is None and layer == "application" and len(target) > 2 and target[2] == "ports":
            continue
        if own is None and layer == "domain" and package in {"orders", "accounting", "indicators"}:
            continue
        bad.append(f"{path.relative_to(ROOT)} imports {name}: no arrow {own or 'shared'} -> {package}")
    return bad


@pytest.mark.parametrize("path", modules("domain") + modules("application"), ids=lambda p: str(p.relative_to(ROOT)))
def test_packages_import_each_other_only_along_the_documented_arrows(path):
    layer = path.relative_to(ROOT).parts[0]
    assert not arrow_violations(path, layer)


def test_a_forbidden_arrow_is_caught():
    """The check itself: trading importing reports, safety importing trading, risk importing
    analytics or the shared records importing a package is refused; reports reading trading is not."""
    app, dom = ROOT / "application", ROOT / "domain"
    for text in ["from application.reports.status import status_of\n", "from application import reports\n",
                 "from ..reports import status\n", "import application.reports.status\n"]:
        assert arrow_violations(app / "trading" / "probe.py", "application", text), text
    assert arrow_violations(app / "safety" / "probe.py", "application", "import application.trading.bot\n")
    assert arrow_violations(app / "records.py", "application", "from application.trading.bot import BotSpec\n")
    assert arrow_violations(dom / "risk" / "probe.py", "domain", "from domain.analytics.metrics import compute_metrics\n")
    assert not arrow_violations(app / "reports" / "probe.py", "application", "from application.trading.bot import BotSpec\n")
    assert not arrow_violations(app / "ports.py", "application", "from application.trading.ports import OrderRepository\n")


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
