"""Sphinx configuration of the sklip documentation.

Build: ``sphinx-build -W -b html docs docs/_build/html`` (the gallery in
``examples/`` is executed during the build).
"""

import os
import sys

# Document the checkout the docs belong to, not another installed sklip.
sys.path.insert(0, os.path.abspath(".."))

import sklip  # noqa: E402
from sklip.neural_network._objective import PENALTIES  # noqa: E402

project = "sklip"
author = "sklip developers"
copyright = "sklip developers"
version = release = sklip.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
# Markdown pages (docs/*.md) are rendered too; their code runs in tests/.
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
html_theme = "pydata_sphinx_theme"
html_title = f"sklip {version}"
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "show_prev_next": False,
}
html_static_path = []

autosummary_generate = True
autodoc_default_options = {}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Type fields like "array-like of shape (n_samples,)" are prose, not references.
numpydoc_xref_param_type = False

# No network at build time: intersphinx inventories are optional.
intersphinx_mapping = {}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "plot_gallery": "True",
}

# Warnings are errors in CI (-W); the gallery's plots need no display.
os.environ.setdefault("MPLBACKEND", "Agg")

# Lists derived from the registries, so a new entry documents itself:
# |penalty_values| is every value of the ``penalty`` parameter.
rst_epilog = "\n.. |penalty_values| replace:: " + ", ".join(
    f'``"{name}"``' for name in PENALTIES
)
