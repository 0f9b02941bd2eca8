"""The shape of the package, read from its source: no import cycles between anystab's modules, and the
library never imports the command line (anystab.cli) -- the CLI sits on top of the library, not inside it.

Every import is counted, at module level and inside functions alike: a lazy import still ties two modules
together, and a cycle through one is a cycle a reader has to untangle.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "anystab"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The anystab module an imported dotted name lands in (``anystab.x.y`` may be a name inside
    ``anystab.x``), or None for imports from outside the package."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The anystab modules that ``name`` imports (a package's lazy exports count as imports of it)."""
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" for alias in node.names]
        for target in targets:
            module = resolve(target, modules)
            if module is not None and module != name:
                found.add(module)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    # A package's __init__ runs before any of its submodules: importing anystab.x.y imports anystab.x first,
    # but that is Python's doing, not a dependency of y's author, so it is not an edge here.
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_package():
    graph = import_graph()
    assert "anystab.pipeline" in graph and "anystab.cli.main" in graph
    assert "anystab.elements" in graph["anystab.pipeline"]
    assert "anystab.timeline" in graph["anystab.per_vp"]


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_library_never_imports_the_cli():
    backwards = sorted(
        f"{name} imports {target}"
        for name, targets in import_graph().items()
        if not name.startswith("anystab.cli")
        for target in targets
        if target == "anystab.cli" or target.startswith("anystab.cli.")
    )
    assert backwards == []


def test_cli_commands_do_not_import_each_other():
    """Each command module sits on the library and the shared option helpers, not on another command."""
    commands = {
        f"anystab.cli.{name}"
        for name in ("analyze", "collectors", "fetch", "lab", "live", "monitor", "report", "sample")
    }
    crossing = sorted(
        f"{name} imports {target}"
        for name in commands
        for target in import_graph()[name]
        if target in commands
    )
    assert crossing == []


def module_constants() -> list[tuple[str, str, object]]:
    """(module, name, value) of every module-level ``NAME = <literal>`` in the package."""
    found = []
    for name, path in package_modules().items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    continue
                found.append((name, node.targets[0].id, value))
    return found


def test_each_shared_constant_has_one_home():
    """The microsecond constant, the VP and (VP, target) keys and the break kinds are defined once and
    imported everywhere else."""
    constants = module_constants()
    micro = sorted(module for module, _name, value in constants if value == 1_000_000)
    assert micro == ["anystab.units"]
    for shared in ("US_PER_S", "VP_KEYS", "PAIR_KEYS", "VP_KEY", "BREAK_KINDS", "BREAKS", "US"):
        homes = [module for module, name, _value in constants if name == shared]
        assert len(homes) <= 1, (shared, homes)
    keys = {tuple(value) for _m, _n, value in constants if isinstance(value, list | tuple)}
    assert ("collector", "peer_asn", "peer_ip") in keys
    assert ("collector", "peer_asn", "peer_ip", "target") not in keys  # built as [*VP_KEYS, "target"]


def exception_classes() -> list[tuple[str, str]]:
    """(module, class) of every class in the package named ...Error or whose bases name an error or an
    exception."""
    found = []
    for name, path in package_modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(base) for base in node.bases]
                if node.name.endswith("Error") or any(
                    base.endswith(("Error", "Exception", "Irregular", "Miss")) for base in bases
                ):
                    found.append((name, node.name))
    return found


def test_every_error_class_is_in_the_drawn_tree():
    """The errors anystab reports derive from AnystabError and live in anystab/errors.py; every other
    exception class (click usage errors, internal signals) is named in its docstring too."""
    import anystab.errors

    drawn = anystab.errors.__doc__ or ""
    classes = exception_classes()
    assert ("anystab.errors", "LabError") in classes and ("anystab.sources.slim", "Irregular") in classes
    assert ("anystab.cli.paths", "OutputPathError") in classes
    for module, cls in classes:
        assert cls in drawn, f"{module}.{cls} is not drawn in anystab/errors.py"
        if module != "anystab.errors":
            assert not issubclass(getattr(importlib.import_module(module), cls), anystab.errors.AnystabError)
    for module, cls in classes:
        if module == "anystab.errors" and cls != "AnystabError":
            assert issubclass(getattr(anystab.errors, cls), anystab.errors.AnystabError)


def documented_modules() -> list[str]:
    """The modules the layout at the top of docs/architecture.md lists, in order."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split("```", 2)[1]
    return [line.split()[0] for line in block.splitlines() if line.startswith("anystab/")]


def test_the_documented_layout_matches_the_tree():
    listed = documented_modules()
    assert len(listed) == len(set(listed)), "a module is listed twice"
    on_disk = {str(path.relative_to(PACKAGE.parent)) for path in package_modules().values()}
    assert sorted(on_disk - set(listed)) == [], "modules missing from docs/architecture.md"
    assert sorted(set(listed) - on_disk) == [], "docs/architecture.md lists modules that do not exist"


def test_every_documented_module_has_a_role():
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for line in text.split("```", 2)[1].splitlines():
        if line.startswith("anystab/"):
            assert len(line.split(maxsplit=1)) == 2, f"no role given: {line}"
