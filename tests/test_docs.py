"""The docs' code is executed, so the tutorial cannot drift from the library."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "```python" in p.read_text(encoding="utf-8"))


def _blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_python_blocks_run(page: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every ```python block of a page runs, in order, in one namespace."""
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for n, block in enumerate(_blocks(page), start=1):
        try:
            exec(compile(block, f"{page.name}[block {n}]", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - failure path
            pytest.fail(f"{page.relative_to(DOCS)} block {n} failed: {exc!r}\n{block}")
    capsys.readouterr()
