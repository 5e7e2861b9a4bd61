"""`import kefu_standards` is free: no model, dictionary or lexicon is loaded."""

from __future__ import annotations

import subprocess
import sys

import pytest

import kefu_standards as ks

HEAVY = ("jieba", "snownlp", "numpy")


def _imported_after(code: str) -> list[str]:
    probe = f"import sys; {code}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return [m for m in out.stdout.strip().split(",") if m]


def test_import_loads_nothing_heavy() -> None:
    """A bare import loads neither jieba nor snownlp (nor numpy)."""
    assert _imported_after("import kefu_standards") == []


@pytest.mark.parametrize("name", sorted(set(ks.__all__) - {"__version__"}))
def test_every_public_name_resolves(name: str) -> None:
    """Every name in __all__ is reachable (lazy names included)."""
    assert getattr(ks, name) is not None


def test_dir_lists_the_public_api() -> None:
    """dir() shows the curated API, lazy names included."""
    assert set(ks.__all__) <= set(dir(ks))


def test_unknown_attribute_is_an_attribute_error() -> None:
    """Typos fail as AttributeError, the builtin Python users expect."""
    with pytest.raises(AttributeError, match="no attribute 'sentimnet'"):
        _ = ks.sentimnet  # type: ignore[attr-defined]


def test_data_loads_lazily_and_once() -> None:
    """The fold table is built on first use, then cached."""
    code = (
        "import kefu_standards.text as t; before = t._fold_table.loaded(); t.fold('親'); "
        "print(before, t._fold_table.loaded())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["False", "True"]


@pytest.mark.parametrize("name", ["sentiment", "politeness", "escalation"])
def test_functions_are_not_shadowed_by_their_submodules(name: str) -> None:
    """`ks.sentiment` stays the function after `kefu_standards._sentiment` is imported."""
    code = (
        "import importlib, kefu_standards as ks; "
        f"importlib.import_module('kefu_standards._{name}'); "
        f"print(callable(ks.{name}), type(ks.{name}).__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["True", "function"]


def test_all_lists_every_lazy_name() -> None:
    """__all__ is written out by hand; it must cover every lazily exported name."""
    assert set(ks._LAZY) <= set(ks.__all__)
