#!/usr/bin/env bash
# Execute the five seed notebooks (examples/notebooks/*.ipynb) with nbclient (in $PY's venv when
# given, else a fresh venv: .ci/lib.sh);
# exits non-zero if a notebook fails (their assertions check fastcalc against analytic results)
# or if a notebook was committed with outputs.  Executed copies go to .ci-artifacts/notebooks/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MPLBACKEND=Agg
. .ci/lib.sh
ci_python notebooks notebooks plot
export FASTCALC_ARTIFACTS="$PWD/.ci-artifacts/notebooks"
# run from outside the source tree so the installed package is the one imported
root=$PWD
(cd "$(mktemp -d)" && "$CIPY" -m pytest -q -p no:cacheprovider "$root/tests/test_notebooks.py")
