"""Print architecture figures of the package: caches, import cycles, private imports, sizes.

AST-based, so the figures are reproducible on any checkout (run from the repo root)::

    python tools/arch_stats.py            # summary
    python tools/arch_stats.py --details  # plus what each count is made of

Counts:

- ``lru_cache``: functions decorated with ``functools.lru_cache`` / ``functools.cache``;
- ``module dict caches``: module-level names bound to an empty ``dict()`` / ``{}`` /
  ``OrderedDict()`` / weak dictionary that a function later stores into;
- ``instance dict caches``: ``self.<name with cache or memo> = {}`` (or ``dict()``) in a
  method: a cache held by an object, such as a cached callable;
- ``TextCache instances``: ``TextCache(...)`` constructions (the bounded, text-keyed cache
  of ``_textcache``), at module level or in a class;
- ``lazy singletons``: module-level names that a function rebinds through ``global``;
- ``memos in frozen classes``: ``object.__setattr__(self, "_x...cache", ...)`` (a private
  name with cache, memo, scores or hash in it): hidden, growing state in a frozen object;
- ``identity keys (id())``: calls to ``id()``, the key of identity-keyed caches;
- ``import cycles``: strongly connected components (size > 1) of the graph of imports
  between the package's modules, top-level and function-level imports alike; counted
  on runtime imports, and again with the ``if TYPE_CHECKING:`` (type-only) ones;
- ``importlib of own modules``: ``importlib.import_module`` calls whose argument names
  one of the package's modules (``__init__``'s ``_LAZY`` map is counted apart);
- ``except ImportError around own modules``: ``try`` blocks importing a package module
  with an ``except ImportError`` handler;
- ``private-name imports``: ``from kefu_standards.x import _name`` across modules.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

PACKAGE = "kefu_standards"
MEMO = re.compile(r"^_.*(cache|memo|scores|hash)")
ROOT = Path(__file__).resolve().parents[1] / "src" / PACKAGE


def module_name(path: Path) -> str:
    """The dotted module name of *path* inside the package."""
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, ast.Module]:
    """Every module of the package, parsed."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        out[module_name(path)] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return out


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def type_only_nodes(tree: ast.AST) -> set[int]:
    """The ids of the statements inside ``if TYPE_CHECKING:`` blocks (never run)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                out.update(id(sub) for sub in ast.walk(stmt))
    return out


def imports(
    mod: str, tree: ast.Module, known: set[str], is_pkg: bool, *, type_only: bool = True
) -> list[tuple[str, str, int]]:
    """(target module, imported name or "", line) of each import of a package module.

    With ``type_only=False``, imports inside ``if TYPE_CHECKING:`` are left out.
    """
    skip = set() if type_only else type_only_nodes(tree)
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    out.append((alias.name, "", node.lineno))
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(mod, is_pkg, node)
            if not target.startswith(PACKAGE):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in known:
                    out.append((sub, "", node.lineno))
                elif target in known:
                    out.append((target, alias.name, node.lineno))
    return out


def sccs(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _is_cache_decorator(dec: ast.expr) -> bool:
    node = dec.func if isinstance(dec, ast.Call) else dec
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return name in {"lru_cache", "cache"}


def _empty_mapping(value: ast.expr | None) -> bool:
    if isinstance(value, ast.Dict) and not value.keys:
        return True
    if isinstance(value, ast.Call) and not value.args:
        f = value.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        return name in {"dict", "OrderedDict", "WeakKeyDictionary", "WeakValueDictionary"}
    return False


def stats() -> dict[str, list[str]]:
    """Each figure, as the list of items it counts."""
    trees = modules()
    known = set(trees)
    pkgs = {m for m in known if (ROOT.parent / m.replace(".", "/") / "__init__.py").exists()}
    res: dict[str, list[str]] = {
        k: []
        for k in (
            "lru_cache",
            "module dict caches",
            "instance dict caches",
            "TextCache instances",
            "lazy singletons",
            "memos in frozen classes",
            "identity keys (id())",
            "import cycles (runtime imports)",
            "import cycles (with type-only imports)",
            "importlib of own modules",
            "importlib in __init__ _LAZY",
            "except ImportError around own modules",
            "private-name imports",
        )
    }
    graph: dict[str, set[str]] = {m: set() for m in known}
    runtime: dict[str, set[str]] = {m: set() for m in known}
    for mod, tree in trees.items():
        for target, _, _ in imports(mod, tree, known, mod in pkgs, type_only=False):
            if target != mod:
                runtime[mod].add(target)
        for target, name, line in imports(mod, tree, known, mod in pkgs):
            if target != mod:
                graph[mod].add(target)
            if name.startswith("_") and not name.startswith("__") and target != mod:
                res["private-name imports"].append(f"{mod}:{line} {target}.{name}")
        module_dicts: set[str] = set()
        for stmt in tree.body:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else []
            if isinstance(stmt, ast.AnnAssign):
                targets = [stmt.target]
            value = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
            if _empty_mapping(value):
                module_dicts.update(t.id for t in targets if isinstance(t, ast.Name))
        stored: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if any(_is_cache_decorator(d) for d in node.decorator_list):
                    res["lru_cache"].append(f"{mod}.{node.name}")
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Global):
                        for n in sub.names:
                            item = f"{mod}.{n}"
                            if item not in res["lazy singletons"]:
                                res["lazy singletons"].append(item)
                    if (
                        isinstance(sub, ast.Subscript)
                        and isinstance(sub.ctx, ast.Store)
                        and isinstance(sub.value, ast.Name)
                        and sub.value.id in module_dicts
                    ):
                        stored.add(sub.value.id)
                    if (
                        isinstance(sub, ast.Call)
                        and isinstance(sub.func, ast.Attribute)
                        and sub.func.attr in {"setdefault", "update"}
                        and isinstance(sub.func.value, ast.Name)
                        and sub.func.value.id in module_dicts
                    ):
                        stored.add(sub.func.value.id)
                    if (
                        isinstance(sub, ast.Call)
                        and isinstance(sub.func, ast.Name)
                        and sub.func.id == "id"
                    ):
                        res["identity keys (id())"].append(f"{mod}.{node.name}:{sub.lineno}")
                    if (
                        node.name != "__setattr__"
                        and isinstance(sub, ast.Call)
                        and isinstance(sub.func, ast.Attribute)
                        and sub.func.attr == "__setattr__"
                        and isinstance(sub.func.value, ast.Name)
                        and sub.func.value.id == "object"
                        and len(sub.args) >= 2
                        and isinstance(sub.args[1], ast.Constant)
                        and MEMO.search(str(sub.args[1].value))
                    ):
                        res["memos in frozen classes"].append(
                            f"{mod}.{node.name}:{sub.lineno} {sub.args[1].value!s}"
                        )
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "TextCache":
                res["TextCache instances"].append(f"{mod}:{node.lineno}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Subscript)
                and getattr(node.func.value, "id", "") == "TextCache"
            ):
                res["TextCache instances"].append(f"{mod}:{node.lineno}")
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if (
                        isinstance(t, ast.Attribute)
                        and isinstance(t.value, ast.Name)
                        and t.value.id == "self"
                        and re.search("cache|memo", t.attr)
                        and _empty_mapping(node.value)
                    ):
                        res["instance dict caches"].append(f"{mod}:{node.lineno} self.{t.attr}")
            if isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Attribute) and f.attr == "import_module" and node.args:
                    arg = node.args[0]
                    text = ast.unparse(arg)
                    own = PACKAGE in text or "__package__" in text or "__name__" in text
                    if own or (len(node.args) > 1 and "__name__" in ast.unparse(node.args[1])):
                        key = (
                            "importlib in __init__ _LAZY"
                            if mod == PACKAGE
                            else "importlib of own modules"
                        )
                        res[key].append(f"{mod}:{node.lineno} {text}")
            if isinstance(node, ast.Try):
                handles = any(
                    h.type is not None and "ImportError" in ast.unparse(h.type)
                    for h in node.handlers
                )
                if handles:
                    guarded = [
                        t
                        for stmt in node.body
                        for t, _, _ in imports(
                            mod, ast.Module(body=[stmt], type_ignores=[]), known, mod in pkgs
                        )
                    ]
                    if guarded:
                        res["except ImportError around own modules"].append(
                            f"{mod}:{node.lineno} {', '.join(sorted(set(guarded)))}"
                        )
        res["module dict caches"].extend(f"{mod}.{n}" for n in sorted(stored))
    res["import cycles (runtime imports)"] = [" <-> ".join(c) for c in sccs(runtime)]
    res["import cycles (with type-only imports)"] = [" <-> ".join(c) for c in sccs(graph)]
    return res


def sizes() -> tuple[int, list[tuple[int, str]]]:
    """Total lines of src/ and (lines, module) of the largest files."""
    rows = []
    for path in ROOT.rglob("*.py"):
        n = len(path.read_text(encoding="utf-8").splitlines())
        rows.append((n, str(path.relative_to(ROOT.parent))))
    rows.sort(reverse=True)
    return sum(n for n, _ in rows), rows


def main(argv: list[str] | None = None) -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--details", action="store_true", help="list what each count is made of")
    args = parser.parse_args(argv)
    res = stats()
    for key, items in res.items():
        print(f"{key:40s} {len(items):5d}")
        if args.details:
            for item in items:
                print(f"    {item}")
    total, rows = sizes()
    print(f"{'lines of src/':40s} {total:5d}")
    print(f"{'files over 650 lines':40s} {sum(n > 650 for n, _ in rows):5d}")
    for n, name in rows[:8]:
        print(f"    {n:5d} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
