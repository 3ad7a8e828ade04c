#!/usr/bin/env bash
# Run SciPy's own differentiation tests (shipped inside the installed SciPy) with fastcalc's
# functions bound in by the pytest plugin tools/scipy_parity/differentiate.py.
# Usage: PY=/path/to/python-with-fastcalc-installed .ci/scipy_parity_differentiate.sh
# Exits non-zero when any selected SciPy test fails; the deselected ones are listed (with their
# reasons) in the plugin's DESELECTED table.
set -euo pipefail
PY="${PY:-python}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="$here/tools/scipy_parity${PYTHONPATH:+:$PYTHONPATH}"
cd "$(mktemp -d)"          # not the source tree: import the installed fastcalc
"$PY" -m pytest -p differentiate -q -p no:cacheprovider -rfE \
    --pyargs scipy.optimize.tests.test_optimize -k "check_grad or approx_fprime"
"$PY" -m pytest -p differentiate -q -p no:cacheprovider -rfE \
    --pyargs scipy.differentiate.tests.test_differentiate
