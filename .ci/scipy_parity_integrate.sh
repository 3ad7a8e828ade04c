#!/usr/bin/env bash
# Run SciPy's own integration tests (installed with SciPy) with fastcalc's functions bound in
# place of scipy.integrate's (tools/scipy_parity/integrate.py, loaded with -p); the plugin lists
# every deselected test with its reason.  Exits non-zero when a test fails.
#
#   PY=/path/to/python-with-fastcalc-installed .ci/scipy_parity_integrate.sh [extra pytest args]
set -euo pipefail
PY="${PY:-python}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$(mktemp -d)"      # not the source tree: the installed fastcalc is the one under test
PYTHONPATH="$ROOT/tools${PYTHONPATH:+:$PYTHONPATH}" OPENBLAS_NUM_THREADS=1 \
    "$PY" -m pytest -q -p no:cacheprovider -p scipy_parity.integrate -rs \
    --pyargs scipy.integrate.tests.test_quadrature scipy.integrate.tests.test_quadpack "$@"
