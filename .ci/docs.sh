#!/usr/bin/env bash
# Build the docs site with Sphinx, warnings as errors, in $PY's venv plus the docs/plot/explore
# extras when given, else a fresh venv with ".[docs,plot,explore]"
# installed from this clone.  Output: docs/_build/html.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MPLBACKEND=Agg
rm -rf docs/_build
. .ci/lib.sh
ci_python docs docs plot explore
# import the installed package (with its compiled modules), not the source tree
"$CIPY" -m sphinx -W --keep-going -b html docs docs/_build/html
echo "docs built: docs/_build/html/index.html"
