"""The package's import layout: no import cycles, no private cross-imports,
every module importable on its own, and every import of a jaxmle module inside
a function says why it is there.

The checks read the source with ``ast`` (no import needed, except the one test
that imports on purpose) and discover the modules by walking ``jaxmle/``, so
they apply unchanged to whatever modules the package has. ``pyproject.toml``'s
import-linter contracts (``lint-imports``) check the intended layers; these
tests check the rules that hold whatever the layers are.

Rules, as modelled here:

* **Imports counted.** Every intra-package import anywhere in a module: at
  module level, under ``if TYPE_CHECKING:`` (as import-linter counts them), and
  inside functions, methods and lambdas: ``import jaxmle.x``, ``import jaxmle.x
  as y``, ``from jaxmle.x import y`` (``y`` a name, or a submodule
  ``jaxmle.x.y``), relative imports (``from . import y``, ``from .x import
  y``), ``from jaxmle import x``, and ``__import__("jaxmle...")`` or
  ``importlib.import_module("jaxmle...")`` with a literal name.
* **Parent packages.** Importing ``jaxmle.a.b`` first runs ``jaxmle/a/__init__``,
  so it is also an edge to the package ``jaxmle.a`` (marked *implicit*),
  except where ``jaxmle.a`` is the importer itself or one of its own parent
  packages: a module's parents are already being imported when it runs. So a
  package ``__init__`` that re-exports its submodules (an edge ``jaxmle.a ->
  jaxmle.a.b``) does not form a cycle with them, and ``from jaxmle.a import c``
  inside ``jaxmle.a.b``, ``c`` being the submodule ``jaxmle.a.c``, is an edge to
  ``jaxmle.a.c`` only. But a submodule that *explicitly* imports a name from its
  own parent package (``from jaxmle.a import Thing`` in ``jaxmle.a.b``) has an
  edge to ``jaxmle.a``; if that ``__init__`` imports ``jaxmle.a.b`` (re-exports
  it), the cycle is real (``Thing`` may not be defined yet when ``jaxmle.a.b``
  runs) and is reported.
* **The top-level package** ``jaxmle/__init__.py`` is the public facade: it may
  import anything, and it is left out of the cycle graph (every import of
  ``jaxmle.x`` runs it first, so counting that would make everything one
  cycle). In exchange, nothing may import it: no ``import jaxmle``, ``import
  jaxmle as jm``, ``from jaxmle import <name that is not a submodule>`` or
  ``__import__("jaxmle")``, except in the entry points ``jaxmle.cli`` and
  ``jaxmle.__main__``, which sit above the facade. For that to hold, nothing
  may import the entry points either (``jaxmle.__main__`` may import
  ``jaxmle.cli``), and the facade may not import them.
* **Private names.** ``from jaxmle.m import _name`` (one leading underscore, not a
  dunder) in any module other than ``jaxmle.m`` itself, and ``alias._name``
  where ``alias`` is bound to an imported jaxmle module other than the importer,
  are violations. Private *modules* (``jaxmle._engine``, ``jaxmle.families._math``)
  are package-private by the layer contracts, not by this rule, so importing a
  private submodule is allowed here; the names inside it are not private to it.
* **Imports inside functions** of jaxmle modules (the only way to write an
  upward import that Python tolerates) need a reason: a comment containing
  ``lazy``, ``lazily`` or ``optional`` on the statement's lines or in the block
  of comment lines right above it. Imports of other packages (scipy,
  matplotlib, pandas) inside functions are not checked.
* **Importable alone.** In one fresh interpreter (jax imported once, first),
  each module is imported after removing every ``jaxmle*`` entry from
  ``sys.modules``: once plainly (which runs ``jaxmle/__init__.py`` first), and
  once with ``jaxmle/__init__.py`` replaced by an empty package, so that only the
  module's own imports run and one that works only because the facade happened
  to import something first is caught. ``jaxmle.__main__`` is not imported (it
  runs the command line).
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import sys
import tokenize
from collections import defaultdict, deque
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path

ROOT = "jaxmle"
REPO = Path(__file__).resolve().parents[1]
PKG_DIR = REPO / ROOT
ENTRY_POINTS = frozenset({f"{ROOT}.cli", f"{ROOT}.__main__"})
REASON = re.compile(r"\b(lazy|lazily|optional|optionally)\b", re.IGNORECASE)


# --- discovery and parsing ---------------------------------------------------------------


@cache
def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__.py``)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(PKG_DIR):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__pycache__")))
        package = Path(dirpath).relative_to(PKG_DIR.parent).parts
        for fn in sorted(filenames):
            if not fn.endswith(".py"):
                continue
            stem = fn[:-3]
            name = ".".join(package if stem == "__init__" else (*package, stem))
            found[name] = Path(dirpath) / fn
    return found


def is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


def parents(name: str) -> list[str]:
    """``a.b.c`` -> ``["a", "a.b"]``."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


@dataclass(frozen=True)
class Import:
    """One module imported by one statement (a statement may import several)."""

    importer: str
    lineno: int  # the statement's first and last lines
    end_lineno: int
    target: str  # the module imported; "jaxmle" for the top-level package
    names: tuple[str, ...]  # names taken from `target` by `from target import ...`
    in_function: bool
    statement: str  # the source text, for messages

    @property
    def where(self) -> str:
        return f"{rel(modules()[self.importer])}:{self.lineno}"


@dataclass(frozen=True)
class PrivateUse:
    importer: str
    lineno: int
    text: str
    module: str
    name: str


@dataclass
class Parsed:
    imports: list[Import]
    private_uses: list[PrivateUse]


class _Visitor(ast.NodeVisitor):
    def __init__(self, name: str, source: str):
        self.name = name
        self.source = source
        self.package = name if is_package(name) else name.rpartition(".")[0]
        self.depth = 0  # function nesting
        self.imports: list[Import] = []
        self.aliases: dict[str, str] = {}  # local name -> jaxmle module it is bound to
        self.attributes: list[ast.Attribute] = []

    def _record(self, node: ast.stmt | ast.expr, target: str, names=()) -> None:
        text = ast.get_source_segment(self.source, node) or ""
        self.imports.append(
            Import(
                importer=self.name,
                lineno=node.lineno,
                end_lineno=node.end_lineno or node.lineno,
                target=target,
                names=tuple(names),
                in_function=self.depth > 0,
                statement=re.sub(
                    r"\(\s*|,?\s*\)", lambda m: m[0].strip(" ,"), " ".join(text.split())
                ),
            )
        )

    def _function(self, node) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == ROOT or alias.name.startswith(ROOT + "."):
                self._record(node, alias.name)
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    self.aliases[ROOT] = ROOT

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base_parts = self.package.split(".")
            base_parts = base_parts[: len(base_parts) - (node.level - 1)]
            base = ".".join([*base_parts, *([node.module] if node.module else [])])
        else:
            base = node.module or ""
        if not (base == ROOT or base.startswith(ROOT + ".")):
            return
        names = []
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in modules():
                self._record(node, sub)
                self.aliases[alias.asname or alias.name] = sub
            else:
                names.append(alias.name)
        if names:
            self._record(node, base, names)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        dynamic = (isinstance(func, ast.Name) and func.id in ("__import__", "import_module")) or (
            isinstance(func, ast.Attribute) and func.attr == "import_module"
        )
        if dynamic and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                if arg.value == ROOT or arg.value.startswith(ROOT + "."):
                    self._record(node, arg.value)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.attributes.append(node)
        self.generic_visit(node)


def _dotted(node: ast.expr) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


@cache
def parse(name: str) -> Parsed:
    path = modules()[name]
    source = path.read_text(encoding="utf-8")
    v = _Visitor(name, source)
    v.visit(ast.parse(source, filename=str(path)))

    private = [
        PrivateUse(name, imp.lineno, imp.statement, imp.target, n)
        for imp in v.imports
        for n in imp.names
        if is_private(n) and imp.target != name
    ]
    # `alias._name` on a module bound by an import (attribute chains walk through submodules).
    seen = set()
    for node in v.attributes:
        chain = _dotted(node)
        if not chain or chain[0] not in v.aliases:
            continue
        module = v.aliases[chain[0]]
        for i, attr in enumerate(chain[1:], start=2):
            if f"{module}.{attr}" in modules():
                module = f"{module}.{attr}"
                continue
            if is_private(attr) and module != name and (node.lineno, module, attr) not in seen:
                seen.add((node.lineno, module, attr))
                text = ".".join(chain[:i])
                private.append(PrivateUse(name, node.lineno, text, module, attr))
            break
    return Parsed(v.imports, private)


def all_imports() -> list[Import]:
    return [imp for name in modules() for imp in parse(name).imports]


# --- the graph ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    imp: Import
    implicit: bool  # to a parent package of the module named in the statement

    def describe(self) -> str:
        how = ["in a function"] if self.imp.in_function else []
        if self.implicit:
            how.append("implicit: runs the package's __init__")
        extra = f" ({'; '.join(how)})" if how else ""
        return f"{self.imp.where}{extra}: {self.imp.statement}"


def graph() -> dict[str, dict[str, list[Edge]]]:
    """importer -> imported -> the statements that make the edge (top-level package excluded)."""
    g: dict[str, dict[str, list[Edge]]] = {m: defaultdict(list) for m in modules() if m != ROOT}
    for imp in all_imports():
        if imp.importer == ROOT:
            continue
        own = {imp.importer, *parents(imp.importer)}
        if imp.target in modules() and imp.target != ROOT and imp.target != imp.importer:
            g[imp.importer][imp.target].append(Edge(imp, implicit=False))
        for pkg in parents(imp.target):
            if pkg != ROOT and pkg not in own and pkg in modules():
                g[imp.importer][pkg].append(Edge(imp, implicit=True))
    return g


def strongly_connected(g: dict[str, dict[str, list[Edge]]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative); components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out = []
    counter = 0
    for root in sorted(g):
        if root in index:
            continue
        work = [(root, iter(sorted(g[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(g[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return sorted(out)


def shortest_path(g, start: str, goal: str, allowed: set[str]) -> list[str]:
    prev = {start: None}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        if v == goal:
            path = [v]
            while prev[path[-1]] is not None:
                path.append(prev[path[-1]])
            return path[::-1]
        for w in sorted(g[v]):
            if w in allowed and w not in prev:
                prev[w] = v
                queue.append(w)
    raise AssertionError("unreachable: both ends are in one strongly connected component")


def cycles(g) -> list[tuple[list[str], list[str]]]:
    """For each import cycle group, the shortest cycle through each of its edges (deduplicated):
    breaking every listed cycle breaks the group. Returns (group, [rendered cycles])."""
    report = []
    for comp in strongly_connected(g):
        members = set(comp)
        found: dict[tuple[str, ...], str] = {}
        for u in comp:
            for v in sorted(g[u]):
                if v not in members:
                    continue
                cyc = [u, *shortest_path(g, v, u, members)]  # u -> v -> ... -> u
                body = cyc[:-1]
                k = body.index(min(body))
                key = tuple(body[k:] + body[:k])
                if key in found:
                    continue
                ring = [*key, key[0]]
                lines = [" -> ".join(ring)]
                for a, b in pairwise(ring):
                    edges = g[a][b]
                    lines.append(f"    {a} -> {b}")
                    lines.extend(f"        {e.describe()}" for e in edges)
                found[key] = "\n".join(lines)
        report.append((comp, [found[k] for k in sorted(found, key=lambda k: (len(k), k))]))
    return report


# --- the tests ---------------------------------------------------------------------------


def test_modules_are_discovered():
    names = modules()
    assert ROOT in names and len(names) > 5, sorted(names)
    for name in names:
        parse(name)  # every module parses


def test_import_graph_has_no_cycle():
    found = cycles(graph())
    if found:
        parts = []
        for comp, rendered in found:
            parts.append(
                f"import cycle among {len(comp)} modules: {', '.join(comp)}\n"
                f"  {len(rendered)} cycle(s), the shortest through each import:\n\n"
                + "\n\n".join(rendered)
            )
        raise AssertionError("\n\n".join(parts))


def test_only_entry_points_import_the_top_level_package():
    problems = []
    for imp in all_imports():
        if imp.target == ROOT and imp.importer not in ENTRY_POINTS and imp.importer != ROOT:
            problems.append(
                f"{imp.where}: {imp.importer} imports the top-level package "
                f"(only {', '.join(sorted(ENTRY_POINTS))} may): {imp.statement}"
            )
        if imp.target in ENTRY_POINTS and imp.target != imp.importer:
            if not (imp.importer == f"{ROOT}.__main__" and imp.target == f"{ROOT}.cli"):
                problems.append(
                    f"{imp.where}: {imp.importer} imports the entry point {imp.target}: "
                    f"{imp.statement}"
                )
    if problems:
        raise AssertionError("\n".join(problems))


def test_no_private_cross_imports():
    grouped: dict[tuple, list[str]] = defaultdict(list)
    for name in modules():
        for u in parse(name).private_uses:
            grouped[(u.importer, u.lineno, u.module, u.text)].append(u.name)
    problems = [
        f"{rel(modules()[importer])}:{lineno}: {importer} uses {module}'s private "
        f"{', '.join(names)}: {text}"
        for (importer, lineno, module, text), names in grouped.items()
    ]
    if problems:
        raise AssertionError(
            f"{len(problems)} private cross-import(s) (one leading underscore, from another "
            "module):\n" + "\n".join(problems)
        )


@cache
def _comments(name: str) -> tuple[dict[int, str], set[int]]:
    """Comment text by line, and the lines that hold nothing but a comment."""
    source = modules()[name].read_text(encoding="utf-8")
    by_line: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            by_line[tok.start[0]] = tok.string
    lines = source.splitlines()
    only = {n for n in by_line if lines[n - 1].lstrip().startswith("#")}
    return by_line, only


def _has_reason(imp: Import) -> bool:
    by_line, only = _comments(imp.importer)
    texts = [by_line.get(n, "") for n in range(imp.lineno, imp.end_lineno + 1)]
    n = imp.lineno - 1
    while n in only:  # the block of comment lines right above
        texts.append(by_line[n])
        n -= 1
    return any(REASON.search(t) for t in texts)


def test_imports_inside_functions_say_why():
    problems = {}
    for imp in all_imports():
        if imp.in_function and not _has_reason(imp):
            problems.setdefault((imp.importer, imp.lineno), f"{imp.where}: {imp.statement}")
    if problems:
        raise AssertionError(
            f"{len(problems)} jaxmle import(s) inside functions without a comment saying why "
            "(a comment with 'lazy' or 'optional' on that line or right above):\n"
            + "\n".join(problems.values())
        )


_IMPORT_EACH = r"""
import importlib, importlib.util, json, os, sys, traceback
import jax  # imported once, first: it is not what is being tested

root, init, pkg_dir, names = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
failures = []
for bare in (False, True):
    for name in names:
        if bare and name == root:
            continue
        for key in [k for k in sys.modules if k == root or k.startswith(root + ".")]:
            del sys.modules[key]
        if bare:  # the top-level package, without running its __init__.py
            spec = importlib.util.spec_from_file_location(
                root, init, submodule_search_locations=[pkg_dir]
            )
            sys.modules[root] = importlib.util.module_from_spec(spec)
        try:
            importlib.import_module(name)
        except BaseException as e:
            tb = traceback.extract_tb(e.__traceback__)
            where = next(
                (
                    f"{os.path.relpath(f.filename)}:{f.lineno}"
                    for f in reversed(tb)
                    if f.filename.startswith(pkg_dir)
                ),
                "",
            )
            failures.append(
                {"module": name, "bare": bare, "error": f"{type(e).__name__}: {e}", "at": where}
            )
print("RESULT " + json.dumps(failures))
"""


def test_every_module_imports_on_its_own():
    names = [m for m in modules() if m != f"{ROOT}.__main__"]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    args = [str(modules()[ROOT]), str(PKG_DIR), json.dumps(names)]
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH, ROOT, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"import subprocess failed:\n{proc.stderr[-4000:]}"
    failures = json.loads(lines[-1][len("RESULT ") :])
    if failures:
        raise AssertionError(
            f"{len(failures)} module import(s) fail on their own:\n"
            + "\n".join(
                f"{f['module']}"
                f"{' (without jaxmle/__init__.py run first)' if f['bare'] else ''}: "
                f"{f['error']}{' at ' + f['at'] if f['at'] else ''}"
                for f in failures
            )
        )
