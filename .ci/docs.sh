#!/usr/bin/env bash
# Build the docs site with Sphinx, warnings as errors, in a fresh venv with ".[docs,plot,explore]"
# installed from this clone.  Output: docs/_build/html.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MPLBACKEND=Agg
venv=.ci-venv/docs
rm -rf "$venv" docs/_build
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q ".[docs,plot,explore]"
# import the installed package (with its compiled modules), not the source tree
"$venv/bin/python" -m sphinx -W --keep-going -b html docs docs/_build/html
echo "docs built: docs/_build/html/index.html"
