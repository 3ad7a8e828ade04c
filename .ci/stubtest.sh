#!/usr/bin/env bash
# mypy stubtest: the stubs (*.pyi) of every compiled module say what the module really has.
# Own venv; fastcalc installed into it from this tree (not in place), so the check sees what a user
# gets.  Settings in .ci/stubtest.ini (missing third-party stubs are not our business); PEP 800
# "disjoint base" markers are not required.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
PYTHON=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
if [ -n "${PY:-}" ]; then      # .ci/run: the test venv, fastcalc already installed there
    pyexe=$PY
else
    venv=${STUBTEST_VENV:-$root/.ci-venv/stubtest}
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install -q "$root"
    pyexe=$venv/bin/python
fi
"$pyexe" -m pip install -q mypy
modules=$(cd src && ls fastcalc/_*.pyx | sed -e 's/\.pyx$//' -e 's#/#.#')
echo "stubtest:" $modules
cd "$(mktemp -d)"      # import the installed package, not ./src
"$pyexe" -m mypy.stubtest --ignore-missing-stub --ignore-disjoint-bases \
    --mypy-config-file "$root/.ci/stubtest.ini" $modules
echo "stubtest: ok"
