"""The house rules, checked over the source with ast: one reader of the environment, the mode chosen in
one place, the kubernetes client imported in one package, and tests that share helpers, not modules."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = sorted((ROOT / "app").rglob("*.py"))


def tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(), str(path))


def names_in(path: Path) -> set[str]:
    """Dotted names read in a module (os.environ, settings.cluster_sync, ...); `os.environ[k] = v` writes."""
    found = set()
    module = tree(path)
    written = {id(node.value) for node in ast.walk(module) if isinstance(node, ast.Subscript)
               and isinstance(node.ctx, ast.Store)}
    for node in ast.walk(module):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and id(node) not in written:
            parts, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                parts.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name):
                found.add(".".join([value.id, *reversed(parts)]))
    return found


def imports_of(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_only_the_settings_read_the_environment():
    readers = [relative(p) for p in APP + [ROOT / "wsgi.py", ROOT / "config.py"]
               if {"os.environ", "os.getenv", "os.environ.get"} & names_in(p)]
    assert readers == ["app/settings.py"]


def test_the_mode_is_chosen_in_one_place():
    choosers = [relative(p) for p in APP if any(n.endswith(".cluster_sync") for n in names_in(p))]
    assert choosers == ["app/store.py"]


def test_only_the_cluster_package_imports_the_kubernetes_client():
    importers = {relative(p) for p in APP if any(m == "kubernetes" or m.startswith("kubernetes.")
                                                 for m in imports_of(p))}
    assert importers and all(p.startswith("app/cluster/") for p in importers), importers


def test_no_test_imports_another_test_module():
    offenders = [relative(p) for p in sorted((ROOT / "tests").glob("*.py")) + sorted((ROOT / "bench").glob("*.py"))
                 if any(m.startswith("tests.test_") or m == "tests.conftest" for m in imports_of(p))]
    assert offenders == []


def test_one_module_starts_threads_and_no_module_guards_a_process_id():
    starters = [relative(p) for p in APP if "threading.Thread" in names_in(p)]
    assert starters == ["app/runtime.py"]
    guards = [relative(p) for p in APP if "os.getpid" in names_in(p)]
    assert guards == []


def test_no_module_global_is_rebound_at_run_time():
    rebinders = [relative(p) for p in APP if any(isinstance(node, ast.Global) for node in ast.walk(tree(p)))]
    assert rebinders == []


def test_no_module_of_the_app_is_longer_than_300_lines_but_the_settings():
    long = {relative(p): n for p in APP if (n := len(p.read_text().splitlines())) > 300}
    assert long == {"app/settings.py": long.get("app/settings.py")} if "app/settings.py" in long else long == {}


def test_which_ways_in_there_are_is_asked_in_few_places():
    """SEATS and SELF_REGISTRATION: the page builds its sections from them once; each service refuses the
    way in it serves when it is off; the command line words its text by them."""
    askers = sorted(relative(p) for p in APP if any(name.endswith(("settings.seats", "settings.self_registration"))
                                                    for name in names_in(p)))
    assert askers == ["app/__main__.py", "app/claims.py", "app/service.py", "app/web/page.py"], askers
