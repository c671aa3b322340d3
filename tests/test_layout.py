"""The package's layout is its architecture: the operator's tooling (kaptracker/ops/) sits above
the app and the app never imports it; migrations are frozen and import no app code.

The checks read the import statements of every module with ast (top-level and inside functions,
absolute and relative), as tests/test_clock.py reads every call of the wall clock."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "kaptracker"


def module_name(path: Path) -> str:
    """kaptracker/courses/views.py -> kaptracker.courses.views; a package's __init__ is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module a source imports, as absolute names: ``from . import a`` in kaptracker.b gives
    kaptracker and kaptracker.a (a name imported from a package may be its submodule)."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def imports_of(path: Path) -> set[str]:
    return imported_modules(path.read_text(), module_name(path), is_package=path.name == "__init__.py")


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def app_modules() -> list[Path]:
    """Every module of the app: the package but for its ops tooling and its migrations."""
    return [path for path in sorted(PACKAGE.rglob("*.py"))
            if not {"ops", "migrations"} & set(path.relative_to(PACKAGE).parts[:-1])]


def test_the_app_never_imports_its_ops_tooling():
    offenders = [f"{path.relative_to(ROOT)} imports {name}"
                 for path in app_modules() for name in sorted(imports_of(path))
                 if within(name, "kaptracker.ops")]
    assert not offenders, "\n".join(offenders)


def test_an_app_serving_requests_has_not_loaded_the_ops_tooling():
    """Nor does it reach it at run time (importlib, a plugin): the app, every blueprint and every
    page's module are loaded by create_app; kaptracker.ops must not be among them."""
    program = (
        "import sys\n"
        "from kaptracker import create_app\n"
        "app = create_app({'TESTING': True, 'SECRET_KEY': 'x', 'SQLALCHEMY_DATABASE_URI': 'sqlite://'})\n"
        "app.test_client().get('/healthz')\n"
        "print(sorted(m for m in sys.modules if m == 'kaptracker.ops' or m.startswith('kaptracker.ops.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def test_the_ops_commands_reach_flask_through_the_entry_point():
    from importlib import metadata

    commands = {ep.name: ep.value for ep in metadata.entry_points(group="flask.commands")}
    assert {name: value for name, value in commands.items() if value.startswith("kaptracker.")} == {
        "seed-demo": "kaptracker.ops.cli:seed_demo",
        "demo": "kaptracker.ops.cli:demo",
        "seed-scale": "kaptracker.ops.cli:seed_scale",
        "backup": "kaptracker.ops.cli:backup_command",
        "restore": "kaptracker.ops.cli:restore_command",
    }, "setup.cfg's flask.commands differ from the installed ones: run pip install -e ."


def migration_offenders(path: Path, source: str | None = None) -> list[str]:
    """A migration's imports of the app (absolute, or relative, which can only reach the app)."""
    tree = ast.parse(path.read_text() if source is None else source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if within(alias.name, "kaptracker")]
        elif isinstance(node, ast.ImportFrom) and (node.level or within(node.module or "", "kaptracker")):
            found.append("." * node.level + (node.module or ""))
    return found


def test_migrations_are_frozen_and_import_no_app_code():
    """A migration runs on databases of every age: what it needs is copied into it, never imported
    from the app (models, services, rules), whose code moves on."""
    versions = sorted((PACKAGE / "migrations" / "versions").glob("*.py"))
    assert len(versions) >= 7
    offenders = [f"{path.relative_to(ROOT)} imports {name}" for path in versions for name in migration_offenders(path)]
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("source", [
    "from kaptracker.rollup import refresh_all",
    "def upgrade():\n    from kaptracker import rollup\n",
    "import kaptracker.models",
    "from .. import models",
])
def test_the_migration_guard_sees_each_way_of_importing_the_app(source):
    assert migration_offenders(PACKAGE / "migrations" / "versions" / "x.py", source)


def test_the_migration_guard_lets_alembic_and_sqlalchemy_be():
    assert not migration_offenders(PACKAGE / "x.py", "import datetime as dt\nfrom alembic import op\nimport sqlalchemy as sa\n")


@pytest.mark.parametrize(("module", "source", "is_package"), [
    ("kaptracker.cli", "from .ops import cli", False),
    ("kaptracker.cli", "from . import ops", False),
    ("kaptracker.courses.views", "from ..ops.demo import seed", False),
    ("kaptracker.courses.views", "def f():\n    from ..ops import demo\n", False),
    ("kaptracker.courses", "from .. import ops", True),
    ("kaptracker", "from . import ops", True),
    ("kaptracker.reports.views", "import kaptracker.ops.backup", False),
    ("kaptracker.reports.views", "from kaptracker import ops", False),
    ("kaptracker.reports.views", "from kaptracker.ops.scale import load", False),
])
def test_the_guard_sees_each_way_of_importing_ops(module, source, is_package):
    assert any(within(name, "kaptracker.ops") for name in imported_modules(source, module, is_package=is_package))


@pytest.mark.parametrize(("module", "source"), [
    ("kaptracker.courses.views", "from .. import operations"),
    ("kaptracker.courses.views", "from ..outcomes import ops"),
    ("kaptracker.ops.demo", "from .. import clock"),
])
def test_the_guard_lets_other_imports_be(module, source):
    assert not any(within(name, "kaptracker.ops") for name in imported_modules(source, module))


def module_imports(source: str, name: str, modules: set[str], *, is_package: bool = False) -> set[str]:
    """The app modules a module imports, anywhere in it (a function-local import counts: that is
    how a cycle hides). ``from pkg import a`` is an edge to the module ``pkg.a`` when there is
    one, else to ``pkg`` (a name defined in the package)."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                target = ".".join(base[: len(base) - (node.level - 1)] + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in modules else target)
    return (found & modules) - {name}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        cycles.append(sorted(group))
    return cycles


def test_the_app_has_no_import_cycle():
    """No module of the app imports, directly or through others, a module that imports it back,
    at the top or inside a function. The package's own __init__ (the app factory) imports every
    routes module and is imported by none of them; a blueprint's package does not import its routes."""
    paths = {module_name(path): path for path in app_modules()}
    graph = {name: module_imports(path.read_text(), name, set(paths), is_package=path.name == "__init__.py")
             for name, path in paths.items()}
    importers_of_factory = sorted(name for name, targets in graph.items() if "kaptracker" in targets)
    assert not importers_of_factory, importers_of_factory
    cycles = import_cycles(graph)
    assert not cycles, "\n".join(" -> ".join(group) for group in cycles)


def test_the_cycle_finder_finds_a_cycle_through_three_modules():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_a_function_local_import_is_an_edge_and_a_package_name_is_an_edge_to_the_package():
    modules = {"kaptracker.vitals", "kaptracker.vitals.views", "kaptracker.courses", "kaptracker.courses.views",
               "kaptracker.clock"}
    source = "from .. import clock\nfrom . import bp\n\ndef f():\n    from ..courses import views\n"
    assert module_imports(source, "kaptracker.vitals.views", modules) == {
        "kaptracker.clock", "kaptracker.vitals", "kaptracker.courses.views"}
