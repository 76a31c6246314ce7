"""The package's layering, checked from its imports (top-level and lazy ones inside functions alike).

Wings from the inside out: ``errors`` < ``_internal`` < ``grammar`` < ``engine`` < ``execution`` <
``corpus`` < the leaf wings (``campaign``, ``science``, ``learn``, ``describe``) < the shell (``cli``, ``adapter``,
``pytest_plugin``, ``strategy``, ``differential``, ``__init__``). A module may import its own wing and
the wings inside it, never one outside it nor a sibling leaf wing; no import cycle between modules;
optional extras (torch, Optuna, spaCy, matplotlib, Dask) only inside the wings that own them.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tinyfuzz"
RANK = {"errors": 0, "_internal": 0.5, "grammar": 1, "engine": 2, "execution": 3, "corpus": 4,
        "campaign": 5, "science": 5, "learn": 5, "describe": 5,
        "cli": 6, "pytest_plugin": 6, "strategy": 6, "differential": 6, "adapter": 6, "__init__": 6,
        "__main__": 6}
EXTRAS = {"torch": {"learn"}, "optuna": {"learn"}, "spacy": {"describe"},
          "matplotlib": {"campaign"}, "distributed": {"campaign"}, "dask": {"campaign"}}


def modules() -> dict:
    """{dotted module name: path} of every module of the package."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(path: Path, known: set) -> tuple[set, set]:
    """(tinyfuzz modules, other top-level packages) that ``path`` imports, anywhere in it."""
    ours, others = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            base = node.module or ""
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                     for alias in node.names]
        else:
            continue
        for name in names:
            if name == "tinyfuzz" or name.startswith("tinyfuzz."):
                while name not in known:  # an attribute imported from a module: the module
                    name = name.rsplit(".", 1)[0]
                ours.add(name)
            else:
                others.add(name.split(".")[0])
    return ours, others


def wing(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"  # tinyfuzz itself: the public API


GRAPH = {}
EXTERNAL = {}
for _name, _path in modules().items():
    GRAPH[_name], EXTERNAL[_name] = imports(_path, set(modules()))


def test_every_module_has_a_wing():
    assert {wing(m) for m in GRAPH} <= set(RANK), {wing(m) for m in GRAPH} - set(RANK)


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_module_imports_an_outer_or_sibling_wing(module):
    own = wing(module)
    wrong = sorted(m for m in GRAPH[module] if wing(m) != own
                   and RANK[wing(m)] >= RANK[own] and RANK[own] < 6)
    assert not wrong, f"{module} ({own}, layer {RANK[own]}) imports {wrong}"


def test_no_import_cycles():
    """Tarjan's strongly connected components over module imports: each must be one module."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in GRAPH.get(node, ()):
            if child == node:
                continue
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = set()
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.add(item)
                if item == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert not cycles


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_optional_extras_stay_in_their_leaf_wings(extra):
    users = {wing(m) for m, packages in EXTERNAL.items() if extra in packages}
    assert users <= EXTRAS[extra], f"{extra} imported in {sorted(users - EXTRAS[extra])}"


def test_the_checks_can_fail():
    """The graph is read for real: known edges are there (a parser that saw nothing would pass)."""
    assert "tinyfuzz.grammar.model" in GRAPH["tinyfuzz.engine.derivation"]
    assert "tinyfuzz.campaign.runner" in GRAPH["tinyfuzz.campaign.driver"]
    assert "torch" not in EXTERNAL["tinyfuzz.learn.tokens"]
    assert any("torch" in EXTERNAL[m] for m in GRAPH if wing(m) == "learn")
