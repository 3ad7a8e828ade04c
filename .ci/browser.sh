#!/usr/bin/env bash
# The explorer in a real browser: installs Debian's chromium + chromium-driver (apt), adds the
# explore-test extra to $PY's venv (or makes a fresh venv with ".[explore-test]"), runs tests/test_explore.py and tests/test_explore_browser.py.
# Screenshots go to .ci-artifacts/browser/.  If the browser cannot be installed the browser test
# is SKIPPED, LOUDLY (the HTTP tests still run); any test failure exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export DEBIAN_FRONTEND=noninteractive
have_browser=1
if ! { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }; then
    echo "apt-get could not install chromium chromium-driver"
    have_browser=0
fi
{ [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; } || have_browser=0
. .ci/lib.sh
ci_python browser explore-test
export FASTCALC_ARTIFACTS="$PWD/.ci-artifacts/browser"
tests=("$PWD/tests/test_explore.py")
if [ "$have_browser" = 1 ]; then
    tests+=("$PWD/tests/test_explore_browser.py")
else
    echo "################################################################################"
    echo "## SKIPPING THE BROWSER TEST: chromium / chromium-driver could not be installed ##"
    echo "################################################################################"
fi
(cd "$(mktemp -d)" && "$CIPY" -m pytest -q -p no:cacheprovider "${tests[@]}")
if [ "$have_browser" = 1 ]; then ls -l "$FASTCALC_ARTIFACTS"/*.png; fi
