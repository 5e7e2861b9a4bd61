"""Sphinx configuration for kefu_standards."""

from __future__ import annotations

import kefu_standards

project = "kefu_standards"
author = "kefu_standards developers"
copyright = "2026, kefu_standards developers"
release = kefu_standards.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
]
myst_enable_extensions = ["colon_fence", "deflist"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False}
nitpicky = False
intersphinx_mapping: dict[str, tuple[str, None]] = {}
html_theme = "furo"
html_title = "kefu_standards"
language = "en"
suppress_warnings = ["myst.header"]
