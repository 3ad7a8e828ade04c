"""Sphinx configuration of the fastcalc docs (built with ``sphinx-build -W``: warnings are errors).

The API reference is generated from the numpydoc docstrings of the modules in ``API_MODULES``: add a
module there (for example ``"fastcalc.ml"``) and it gets its page.  The notebooks are copied from
``examples/notebooks`` and rendered by myst-nb without executing them (``.ci/notebooks.sh``
executes them).
"""
import importlib
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if (ROOT / "src" / "fastcalc" / "__init__.py").exists():
    try:                        # an installed fastcalc (with its compiled modules) comes first
        importlib.import_module("fastcalc")
    except ImportError:
        sys.path.insert(0, str(ROOT / "src"))

import fastcalc  # noqa: E402

project = "fastcalc"
author = "fastcalc developers"
copyright = "fastcalc developers"
release = version = fastcalc.__version__

extensions = ["sphinx.ext.autodoc", "numpydoc", "myst_nb", "sphinx.ext.mathjax"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
autodoc_default_options = {"members": True, "undoc-members": False}
html_theme = "alabaster"
html_static_path = []
suppress_warnings = ["myst.header"]

#: the modules with an API page, in order (the lead adds families here)
API_MODULES = [
    "fastcalc.differentiate",
    "fastcalc.integrate",
    "fastcalc.optimize",
    "fastcalc.functions",
    "fastcalc.vector",
    "fastcalc.regions",
    "fastcalc.expectation",
    "fastcalc.taylor_nd",
    "fastcalc.ml",
    "fastcalc.plot",
    "fastcalc.explore",
]

NOTEBOOKS = ["gradients_and_derivatives", "chain_rule_backpropagation",
             "taylor_series_approximation", "hessian_and_curvature", "integration_examples"]


def _write_if_changed(path, text):
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _api_pages():
    out = HERE / "api"
    out.mkdir(exist_ok=True)
    entries = []
    for mod in API_MODULES:
        title = f"``{mod}``"
        _write_if_changed(out / f"{mod}.rst",
                          f"{title}\n{'=' * len(title)}\n\n.. automodule:: {mod}\n   :members:\n")
        entries.append(f"   {mod}")
    # the top-level namespace: where each public name lives
    rows = []
    for name in fastcalc.__all__:
        obj = getattr(fastcalc, name)
        home = getattr(obj, "__module__", "") or ""
        if home in API_MODULES and callable(obj):
            role = "class" if isinstance(obj, type) else "func"
            rows.append(f"* :{role}:`fastcalc.{name} <{home}.{name}>`")
        else:
            rows.append(f"* ``fastcalc.{name}``")
    index = ("API reference\n=============\n\n``import fastcalc as fc`` gives every public name; "
             "each is documented in its family's module below.\n\n.. toctree::\n   :maxdepth: 1\n\n"
             + "\n".join(entries) + "\n\nThe names of ``fastcalc``\n-------------------------\n\n"
             + "\n".join(rows) + "\n")
    _write_if_changed(out / "index.rst", index)


def _notebooks():
    out = HERE / "notebooks"
    out.mkdir(exist_ok=True)
    for name in NOTEBOOKS:
        src = ROOT / "examples" / "notebooks" / f"{name}.ipynb"
        dst = out / f"{name}.ipynb"
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dst)


_api_pages()
_notebooks()
