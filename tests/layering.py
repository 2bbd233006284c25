"""The house rules about *where* code lives, checked over the source with `ast`.

Why a small checker of our own rather than `import-linter`: the rules we need are five short
functions over one import graph (layers, two forbidden pairs, cycles between packages and
between modules, file size), and the failure message must name the file, the line and the rule
so that whoever breaks one sees at once what to move. `import-linter` covers the layers and
forbidden imports but not module cycles counted through imports inside functions, nor file
size, and it reports by module name rather than file and line; a second tool would then still
be needed. This file has no dependency beyond the standard library.

What counts as an import: every `import` and `from … import …` statement anywhere in a file —
at module level, inside functions, under `if TYPE_CHECKING:`. An import inside a function still
ties the two modules together (it only postpones the cycle to run time), and a type-only import
of a higher layer still makes the lower layer know about the higher one. Importing
`a.b.c` is counted as an import of `a.b.c` only, not of the parent packages `a` and `a.b` that
Python also runs: those are the package's own `__init__` and would make every module depend on
every ancestor.

`docs/architecture.md` explains the layers in prose; the table there and `LAYERS` below must
say the same thing.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT_PACKAGE = "tiemchung"

# Lowest first. A module belongs to the layer of the longest prefix below that names it (a
# prefix matches the module itself or anything under it; one written "=name" matches that
# module only). A module may import its own layer or any lower one, never a higher one. A
# module that no prefix names is itself a violation ("module-without-layer"): a new package
# must be given its place here (and in docs/architecture.md).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Pure domain: Vietnamese names, dates, IDs, places, encodings. Imports nothing of ours.
    ("identity", ("tiemchung.identity",)),
    # The shared kernel: the tables, who may do what, the error types, the field formats, plus
    # the small leaf modules every layer reads (settings, the vaccine list, column names, local
    # time, log masking). The package `tiemchung` itself (its `__init__`) sits here too.
    (
        "kernel",
        (
            "=tiemchung",  # the package's __init__ only
            "=tiemchung.registry",  # its __init__ only: the registry's subpackages are placed below
            "tiemchung.registry.models",
            "tiemchung.registry.tables",
            "tiemchung.registry.scope",
            "tiemchung.registry.errors",
            "tiemchung.registry.fields",
            "tiemchung.config",
            "tiemchung.workbooks",
            "tiemchung.columns",
            "tiemchung.localtime",
            "tiemchung.logmask",
            "tiemchung.vaccines",
        ),
    ),
    # Engine, sessions, migrations, the writer, the audit log, bulk SQL helpers.
    ("store", ("tiemchung.store",)),
    # The capabilities: each owns its rules and its queries (the service functions).
    (
        "capabilities",
        (
            "tiemchung.registry.catalog",
            "tiemchung.registry.aefi",
            "tiemchung.registry.messages",
            "tiemchung.registry.invitations",
            "tiemchung.registry.changes",
            "tiemchung.registry.exports",
            "tiemchung.registry.people",
            "tiemchung.registry.doses",
            "tiemchung.registry.review",
            "tiemchung.registry.imports",
            "tiemchung.certificates",
            "tiemchung.stats",
            "tiemchung.reconcile",
            "tiemchung.synth",
            "tiemchung.ops",  # backup and restore; pg_dump/pg_restore behind ops/pgtools.py
        ),
    ),
    # What the front ends share: tokens, cookies, CSRF, throttle (auth); downloads and HTTP
    # types (serving); the Platform (core) that opens the store and hands out sessions; the
    # installation's set-up and checks (init, doctor) that the CLI, demo and tests share.
    (
        "shared-serving",
        (
            "tiemchung.auth",
            "tiemchung.serving",
            "tiemchung.core",
            "tiemchung.installation",
            "tiemchung.gateways",  # the SMS adapters (SMPP, HTTP, file) and their local peers
            "tiemchung.fhir",  # registry services' results as HL7 FHIR R4 resources (issue 19)
        ),
    ),
    # The two HTTP front ends: thin, one service call per route, never each other.
    ("front-ends", ("tiemchung.api", "tiemchung.web")),
    # What puts it all together: the ASGI app that mounts api and web, the CLI, the demo.
    ("assembly", ("tiemchung.server", "tiemchung.cli", "tiemchung.demo", "tiemchung.demo_folder")),
)

# The two front ends that must never import each other.
FRONT_ENDS = ("tiemchung.api", "tiemchung.web")
# Libraries that mean "a query is being written here": none in the front ends.
DATABASE_LIBRARIES = ("sqlalchemy", "duckdb")

# Python files only: the data files beside them (identity/data/admin_units_2021.csv.gz, the
# DCC JSON schemas, templates) are not code to read top to bottom.
MAX_LINES = 600
# Files allowed over MAX_LINES because they are data, not logic: splitting a table of
# frequencies across files only makes it harder to check against its source.
DATA_TABLES: dict[str, str] = {
    # Name, age, ID-prefix and phone-prefix frequency tables the generator draws from, each
    # beside the published figure or reasoning it comes from (one small helper, region_of).
    "tiemchung/synth/tables.py": "frequency tables for the synthetic population",
}

# Whether a subpackage importing a module of a package that contains it (api/routes/x.py ->
# api/deps.py, reconcile/engines/base.py -> reconcile/inputs.py) is an edge of the package graph.
# It is not: a subpackage may use what its parent directory holds, and the parent may pick among
# its subpackages (as a factory does), so with it every FastAPI-style `routes/` folder would be
# "in a cycle" with its `deps.py`. A real cycle between two modules is still a module cycle, and
# a cycle through any two sibling or unrelated packages is still a package cycle. Set it to True
# for the stricter reading ("a package is one directory", parents included).
COUNT_PARENT_IMPORTS = False

# Rule names, as they appear in messages and in allowlists.
IDENTITY = "identity-imports-project"
LAYER = "layer-order"
FRONT_END_PAIR = "api-web-import"
DATABASE_IN_FRONT_END = "database-in-front-end"
PACKAGE_CYCLE = "package-cycle"
MODULE_CYCLE = "module-cycle"
FILE_SIZE = "file-too-long"
UNPLACED = "module-without-layer"


@dataclass(frozen=True, order=True)
class Violation:
    """One broken rule at one place. `file` is relative to the source root (`tiemchung/…`)."""

    file: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: [{self.rule}] {self.message}"


@dataclass(frozen=True)
class Import:
    """One import statement's target as seen from the importing module."""

    source: str  # the importing module, dotted
    target: str  # the imported module (ours: resolved to a module that exists) or library
    line: int
    in_function: bool


@dataclass
class Tree:
    """The modules under one source root and every import between them."""

    src: Path
    modules: dict[str, Path]  # dotted name -> file
    imports: list[Import]

    def file_of(self, module: str) -> str:
        return self.modules[module].relative_to(self.src).as_posix()

    def package_of(self, module: str) -> str:
        """A package is one directory: `a/b/__init__.py` and `a/b/c.py` are both in `a.b`.

        Except the root: the files directly under `tiemchung/` (config, core, demo, vaccines…)
        sit in different layers, one by one, so each is a package of its own; otherwise the
        settings module that every layer reads and the demo that uses every layer would make
        one package and every capability would be "in a cycle" with it.
        """
        if self.modules[module].name == "__init__.py":
            return module
        parent = module.rpartition(".")[0]
        return module if "." not in parent else parent

    def internal(self) -> Iterator[Import]:
        return (i for i in self.imports if i.target in self.modules)


def module_name(src: Path, path: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(modules: dict[str, Path], name: str) -> str:
    """The longest existing module that `name` names (`a.b.func` -> `a.b`), else `name`."""
    probe = name
    while probe:
        if probe in modules:
            return probe
        probe = probe.rpartition(".")[0]
    return name


class _Collector(ast.NodeVisitor):
    def __init__(self, tree: Tree, module: str, is_package: bool) -> None:
        self.tree = tree
        self.module = module
        self.is_package = is_package
        self.depth = 0
        self.found: list[Import] = []

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = _function  # noqa: N815 (ast.NodeVisitor's naming)
    visit_AsyncFunctionDef = _function  # noqa: N815
    visit_Lambda = _function  # noqa: N815

    def _add(self, target: str, line: int) -> None:
        self.found.append(Import(self.module, target, line, self.depth > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(_resolve(self.tree.modules, alias.name), node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            here = self.module if self.is_package else self.module.rpartition(".")[0]
            for _ in range(node.level - 1):
                here = here.rpartition(".")[0]
            base = f"{here}.{node.module}" if node.module else here
        else:
            base = node.module or ""
        for alias in node.names:
            # `from a import b` imports the module a.b if there is one, else a name from a.
            full = f"{base}.{alias.name}"
            target = full if full in self.tree.modules else _resolve(self.tree.modules, base)
            self._add(target, node.lineno)


def scan(src: Path, package: str = ROOT_PACKAGE) -> Tree:
    """Read every `.py` file of `package` under the source root `src`."""
    files = sorted((src / package).rglob("*.py"))
    tree = Tree(src, {module_name(src, f): f for f in files}, [])
    for name, path in tree.modules.items():
        collector = _Collector(tree, name, path.name == "__init__.py")
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        tree.imports.extend(collector.found)
    return tree


def layer_of(module: str, layers: tuple[tuple[str, tuple[str, ...]], ...] = LAYERS) -> int | None:
    """The index of the module's layer (the longest matching prefix wins), None if unplaced."""
    best: tuple[int, int] | None = None  # (prefix length, layer index)
    for index, (_, prefixes) in enumerate(layers):
        for entry in prefixes:
            prefix = entry.removeprefix("=")
            matches = module == prefix or (
                not entry.startswith("=") and module.startswith(prefix + ".")
            )
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def check_layers(tree: Tree) -> Iterator[Violation]:
    """identity imports nothing of ours; no layer imports a higher one; api and web apart."""
    for name in sorted(tree.modules):
        if layer_of(name) is None:
            yield Violation(
                tree.file_of(name), 1, UNPLACED, f"{name} is in no layer of tests/layering.py"
            )
    for imp in tree.internal():
        where = (tree.file_of(imp.source), imp.line)
        if _under(imp.source, "tiemchung.identity"):
            if not _under(imp.target, "tiemchung.identity"):
                yield Violation(
                    *where,
                    IDENTITY,
                    f"identity imports {imp.target}: identity imports nothing of the project",
                )
            continue
        pair = [f for f in FRONT_ENDS if _under(imp.source, f) or _under(imp.target, f)]
        if len(pair) == 2 and pair[0] != pair[1]:
            yield Violation(
                *where,
                FRONT_END_PAIR,
                f"{imp.source} imports {imp.target}: api and web never "
                "import each other (share through auth/, serving/ or a service)",
            )
            continue
        low, high = layer_of(imp.source), layer_of(imp.target)
        if low is not None and high is not None and high > low:
            yield Violation(
                *where,
                LAYER,
                f"{imp.source} (layer {LAYERS[low][0]}) imports {imp.target} "
                f"(layer {LAYERS[high][0]}, higher)",
            )


def check_front_end_database(tree: Tree) -> Iterator[Violation]:
    """No query code in api/ or web/: they call service functions instead."""
    for imp in tree.imports:
        if any(_under(imp.source, f) for f in FRONT_ENDS) and any(
            _under(imp.target, lib) for lib in DATABASE_LIBRARIES
        ):
            yield Violation(
                tree.file_of(imp.source),
                imp.line,
                DATABASE_IN_FRONT_END,
                f"{imp.source} imports {imp.target}: queries belong in a service function "
                "(registry/…, stats/, certificates/), not in api/ or web/",
            )


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's components with more than one node (iterative: the graph can be deep)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def _path_back(graph: dict[str, set[str]], start: str, goal: str, within: set[str]) -> list[str]:
    """The shortest path start -> … -> goal inside one component (there always is one)."""
    previous: dict[str, str | None] = {start: None}
    queue = [start]
    for node in queue:
        if node == goal:
            break
        for nxt in sorted(graph.get(node, ())):
            if nxt in within and nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    path: list[str] = []
    step: str | None = goal
    while step is not None:
        path.append(step)
        step = previous[step]
    return path[::-1]


def _cycles(
    tree: Tree, key: Iterable[tuple[Import, str, str]], rule: str, what: str
) -> Iterator[Violation]:
    """Every import whose two ends (as `key` maps them) lie on one cycle of the graph."""
    edges = [(imp, a, b) for imp, a, b in key if a != b]
    graph: dict[str, set[str]] = defaultdict(set)
    for _, a, b in edges:
        graph[a].add(b)
    for component in strongly_connected(graph):
        for imp, a, b in edges:
            if a in component and b in component:
                back = " -> ".join(_path_back(graph, b, a, component))
                how = " (inside a function)" if imp.in_function else ""
                yield Violation(
                    tree.file_of(imp.source),
                    imp.line,
                    rule,
                    f"{what} cycle: {a} imports {b}{how}, and back: {back}",
                )


def _is_ancestor(package: str, of: str) -> bool:
    return of.startswith(package + ".")


def check_cycles(
    tree: Tree, count_parent_imports: bool = COUNT_PARENT_IMPORTS
) -> Iterator[Violation]:
    """No cycle between packages (directories) nor between modules, function imports counted."""
    internal = list(tree.internal())
    package_edges = [(i, tree.package_of(i.source), tree.package_of(i.target)) for i in internal]
    if not count_parent_imports:
        package_edges = [(i, a, b) for i, a, b in package_edges if not _is_ancestor(b, a)]
    yield from _cycles(tree, package_edges, PACKAGE_CYCLE, "package")
    yield from _cycles(tree, ((i, i.source, i.target) for i in internal), MODULE_CYCLE, "module")


def check_file_size(tree: Tree, data_tables: dict[str, str] = DATA_TABLES) -> Iterator[Violation]:
    """Files under MAX_LINES lines, except the data tables named in DATA_TABLES."""
    for name in sorted(tree.modules):
        file = tree.file_of(name)
        lines = len(tree.modules[name].read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES and file not in data_tables:
            yield Violation(
                file,
                MAX_LINES + 1,
                FILE_SIZE,
                f"{lines} lines, over {MAX_LINES}: split it along a seam (data tables may be "
                "listed in DATA_TABLES with the reason)",
            )


def check(src: Path, package: str = ROOT_PACKAGE) -> list[Violation]:
    """Every violation of every rule in the tree under `src`, sorted by file and line."""
    tree = scan(src, package)
    found = {
        *check_layers(tree),
        *check_front_end_database(tree),
        *check_cycles(tree),
        *check_file_size(tree),
    }
    return sorted(found)
