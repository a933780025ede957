"""Sphinx configuration of the sklstm documentation.

Build it (the one command, also run by ``.ci/run``)::

    pip install ".[docs]"
    python tools/build_docs.py

which runs ``python -m sphinx -W --keep-going -n -b html docs docs/_build/html``
and then checks every link inside the built site (``tools/check_links.py``).
Nothing is fetched from the internet: the intersphinx inventories are
committed in ``docs/_inventories/`` (``tools/make_inventories.py``).
"""

import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
sys.path.insert(0, ROOT)  # document (and run the gallery with) this checkout's sklstm

# the examples run small and fast in the gallery (set before sphinx-gallery executes them)
os.environ["SKLSTM_EXAMPLES_QUICK"] = "1"
os.environ.setdefault("MPLBACKEND", "agg")

import sklstm  # noqa: E402

project = "sklstm"
author = "the sklstm developers"
copyright = "the sklstm developers"  # noqa: A001
release = sklstm.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_templates", "_inventories", "**/GALLERY_HEADER.rst"]
templates_path = ["_templates"]
nitpicky = True
# docstrings name private modules and functions for developers: shown as code, not linked
nitpick_ignore_regex = [(r"py:.*", r"sklstm\._.*")]
suppress_warnings = ["myst.header"]  # README sections included below a page title start at ##/###
default_role = "literal"

# --- API reference: autosummary pages, numpydoc sections ----------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # the numpydoc sections give the types
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# --- links to scikit-learn, NumPy and Numba, from committed inventories (no download) ------------------
intersphinx_mapping = {
    "sklearn": ("https://scikit-learn.org/stable/", "_inventories/sklearn.inv"),
    "numpy": ("https://numpy.org/doc/stable/", "_inventories/numpy.inv"),
    "numba": ("https://numba.readthedocs.io/en/stable/", "_inventories/numba.inv"),
}
intersphinx_timeout = 1

# --- the gallery of examples/ --------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # run every example (the default runs plot_*.py only)
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "show_memory": False,
    "min_reported_time": 1,
    "line_numbers": False,
    "copyfile_regex": "",
    "doc_module": ("sklstm",),
    "backreferences_dir": "generated/backreferences",
}

# --- HTML -----------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklstm {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_static_path = []
html_show_sourcelink = False
html_copy_source = False
myst_heading_anchors = 3


def _skip_sklearn_set_output(app, what, name, obj, skip, options):
    """Leave out scikit-learn's own ``set_output`` (its docstring links into scikit-learn's user guide)."""
    if name == "set_output" and getattr(obj, "__module__", "").startswith("sklearn."):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_set_output)
