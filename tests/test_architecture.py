"""The layout keeps its promises: each room imports only what it may, nothing imports
upward, and no module imports another that imports it back (every import counts, at the
top of a module or inside a function)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "workflows", "activities", "frontdoor")
# what each room may import of ours (ENGINEERING.md)
ALLOWED = {
    "models": {"models"},
    "workflows": {"models", "workflows", "activities"},  # activities as references for the workflow to call
    "activities": {"models", "activities"},
    "frontdoor": {"models", "workflows", "frontdoor"},
    "worker": {"models", "workflows", "activities", "frontdoor"},
    "demo": {"models", "workflows", "activities", "frontdoor", "worker"},  # `frontdoor demo`: runs a worker
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _ours(name: str) -> bool:
    return name.split(".")[0] in (*PACKAGES, "worker", "demo")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if _ours(a.name)}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and _ours(node.module):
            found.add(node.module)
            for alias in node.names:  # `from workflows import contact` imports the module workflows.contact
                candidate = f"{node.module}.{alias.name}"
                if (ROOT / Path(*candidate.split("."))).with_suffix(".py").exists():
                    found.add(candidate)
    return found


def _graph() -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")] + [ROOT / "worker.py", ROOT / "demo.py"]
    graph = {_module_name(p): _imports(p) for p in files}
    modules = set(graph)
    # an import of a package is an import of its __init__ only
    return {m: {i for i in deps if i in modules and i != m} for m, deps in graph.items()}


def test_each_room_imports_only_what_it_may() -> None:
    wrong = []
    for module, deps in _graph().items():
        room = module.split(".")[0]
        for dep in deps:
            if dep.split(".")[0] not in ALLOWED[room]:
                wrong.append(f"{module} imports {dep}")
    assert not wrong, "imports across the layers:\n" + "\n".join(sorted(wrong))


def test_the_interface_never_imports_activities_or_the_worker() -> None:
    graph = _graph()
    bad = [f"{m} -> {d}" for m, deps in graph.items() if m.startswith("frontdoor")
           for d in deps if d.startswith("activities") or d in ("worker", "demo")]
    assert not bad, bad


def test_no_import_circles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not circles, f"modules that import each other: {circles}"


def test_every_role_lands_on_a_page_it_may_open() -> None:
    """The start page after sign-in: the person's first list, or the stuck lists for staff
    who work from none; partners never see a link to the stuck lists (they would get 403)."""
    from frontdoor.web.pages import SUPERVISOR, home, nav
    from models.roles import PERMISSIONS, Actor, Role
    from workflows.registry import PROCESSES

    for role in Role:
        actor = Actor(username="someone", role=role)
        views = {f"/{v.name}" for p in PROCESSES for v in p.views if role in v.roles}
        assert home(actor) in views | ({SUPERVISOR[0]} if role in PERMISSIONS["stuck"] else set()), role
        assert (SUPERVISOR in nav(actor)) == (role in PERMISSIONS["stuck"]), role


def test_init_db_creates_every_table_whoever_calls_it(tmp_path) -> None:
    """A program that imports only models.database (the demo did) still gets every table
    defined under models/ (it lacked morning_items, and the reports failed)."""
    import subprocess
    import sys

    defined = set()
    for path in (ROOT / "models").glob("*.py"):
        defined |= set(re.findall(r'__tablename__ = "(\w+)"', path.read_text(encoding="utf-8")))
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code = ("import sys; from sqlalchemy import inspect; from models.database import init_db; "
            f"print(' '.join(inspect(init_db({url!r})).get_table_names()))")
    made = set(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
               .stdout.split())
    assert defined and defined <= made, sorted(defined - made)
