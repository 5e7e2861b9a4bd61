"""Specification of the package's architecture: one-way layers, no import cycles.

Every module of ``kefu_standards`` belongs to one layer of :data:`LAYERS`; a module
may import modules of its own layer or of the layers below, never above, and the
imports between modules form no cycle.  Imports are read from the source (AST):
top-level imports and imports inside functions alike; imports under
``if TYPE_CHECKING:`` never run, so they are not dependencies (they may name a
class of a higher layer in an annotation).  No module loads another of the
package through ``importlib`` (except ``__init__``'s closed ``_LAZY`` map) or
guards an import of one with ``except ImportError``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "kefu_standards"
ROOT = Path(__file__).resolve().parents[1] / "src" / PACKAGE

#: The layers, bottom first.  A module may import its own layer and the layers
#: below; ``*`` matches every module of a subpackage.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "foundation: data model, text, evidence, errors, package data",
        frozenset(
            {
                "exceptions",
                "redact",
                "_version",
                "_textcache",
                "_frozendict",
                "_jsontext",
                "_progress",
                "_time",
                "evidence",
                "resources",
                "text",
                "model",
                "typing",
                "_matcher",
                "_quantiles",
                "_timing_calendar",
                "_timing_policy",
                "io",
                "io.*",
                "data",
            }
        ),
    ),
    (
        "analysers: sentiment, politeness, timing, escalation",
        frozenset(
            {
                "_features",
                "_offensive",
                "_sentiment",
                "_politeness",
                "_cues",
                "_timing_agg",
                "timing",
                "_escalation",
                "_escalation_types",
                "_escalation_text",
                "_escalation_model",
                "_escalation_walk",
                "_escalation_reasons",
                "_competency_cues",
                "_fitcv",
                "_escalation_fit",
                "_sentiment_cv",
                "_segment",
                "_topics",
                "_topic_model",
                "_topic_kpis",
                "_trends",
                "_faq",
                "outcomes",
                "outcomes.*",
            }
        ),
    ),
    ("signals: the analysers' results of one conversation", frozenset({"_signals"})),
    (
        "scorers and scorecard",
        frozenset({"scorers", "scorers.*", "scoring", "_scorecard", "_profiles", "competency"}),
    ),
    ("analysis: many conversations", frozenset({"analysis"})),
    (
        "outputs: report, frames, Spark, command line, test helpers, the package",
        frozenset(
            {
                "report",
                "_report_view",
                "frames",
                "spark",
                "cli",
                "_sentiment_cli",
                "_politeness_cli",
                "_escalation_cli",
                "_cli_common",
                "_outputs",
                "_report_topics",
                "__main__",
                "testing",
                "",  # kefu_standards/__init__.py
            }
        ),
    ),
)


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _layer(module: str) -> int:
    for i, (_, members) in enumerate(LAYERS):
        top = module.split(".", maxsplit=1)[0]
        if module in members or (module != top and f"{top}.*" in members):
            return i
    raise AssertionError(f"module {module!r} is in no layer: add it to LAYERS")


def _type_only(tree: ast.AST) -> set[int]:
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                out.update(id(sub) for sub in ast.walk(stmt))
    return out


def _imports(module: str) -> set[tuple[str, int]]:
    """(imported package module, line) of each runtime import in *module*."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    skip = _type_only(tree)
    is_pkg = MODULES[module].name == "__init__.py"
    base = module.split(".") if module else []
    if not is_pkg:
        base = base[:-1]
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.split(".")[0] == PACKAGE]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                up = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join([*up, node.module] if node.module else up)
            elif (node.module or "").startswith(PACKAGE):
                target = (node.module or "").removeprefix(PACKAGE).lstrip(".")
            else:
                continue
            targets = [f"{target}.{a.name}".lstrip(".") for a in node.names]
            targets = [t if t in MODULES else target for t in targets]
        for raw in targets:
            t = "" if raw == PACKAGE else raw.removeprefix(f"{PACKAGE}.")
            if t in MODULES and t != module:
                out.add((t, node.lineno))
    return out


GRAPH = {m: _imports(m) for m in MODULES}


def test_every_module_has_a_layer() -> None:
    """A new module must be placed in the layer table (so that its imports are checked)."""
    missing = []
    for m in MODULES:
        try:
            _layer(m)
        except AssertionError:
            missing.append(m)
    assert missing == []


def test_imports_never_go_up_the_layers() -> None:
    """A module imports only its own layer and the layers below (see :data:`LAYERS`)."""
    up = sorted(
        f"{m or PACKAGE}:{line} imports {t} ({LAYERS[_layer(t)][0]!r})"
        for m, targets in GRAPH.items()
        for t, line in targets
        if _layer(t) > _layer(m)
    )
    assert up == []


def test_no_import_cycles() -> None:
    """The imports between the package's modules form no cycle (functions' imports too)."""
    graph = {m: {t for t, _ in targets} for m, targets in GRAPH.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycles.append([*path[path.index(t) :], t])
            elif t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert cycles == []


def _calls(module: str) -> list[ast.Call]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m))
def test_no_importlib_loading_of_own_modules(module: str) -> None:
    """Own modules are imported with ``import`` statements, where the reader sees them.

    (``__init__``'s lazy ``_LAZY`` map is the one documented exception.)
    """
    own = [
        ast.unparse(c)
        for c in _calls(module)
        if isinstance(c.func, ast.Attribute)
        and c.func.attr == "import_module"
        and any(k in ast.unparse(c) for k in (PACKAGE, "__package__", "__name__"))
    ]
    assert own == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_except_import_error_around_own_modules(module: str) -> None:
    """An own module is always there: no ``try: from . import x / except ImportError``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    guarded = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            h.type is not None and "ImportError" in ast.unparse(h.type) for h in node.handlers
        ):
            for stmt in node.body:
                for sub in ast.walk(stmt):
                    if isinstance(sub, ast.ImportFrom) and (
                        sub.level or (sub.module or "").startswith(PACKAGE)
                    ):
                        guarded.append(f"line {sub.lineno}: {ast.unparse(sub)}")
    assert guarded == []


def test_the_version_is_defined_once() -> None:
    """``__version__`` is defined in ``_version.py`` only; pyproject and ``__init__`` read it."""
    import re
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - tomli is the same parser before 3.11
        import tomli as tomllib

    project = tomllib.loads((ROOT.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    path = project["tool"]["hatch"]["version"]["path"]
    assert path == "src/kefu_standards/_version.py"
    defined = [
        p.name
        for p in ROOT.rglob("*.py")
        if re.search(r"^__version__ = ", p.read_text(encoding="utf-8"), flags=re.MULTILINE)
    ]
    assert defined == ["_version.py"]
