# Shared by the CI hook scripts (sourced, not run).
#
# ci_python NAME EXTRA...  sets CIPY to a python that has fastcalc and the packages of the given extras:
#   * with PY set (as .ci/run does: the test venv, fastcalc already built and installed there), the
#     extras' packages are added to PY's venv, so the hook does not build fastcalc again;
#   * without PY (a hook run on its own), a fresh venv .ci-venv/NAME gets ".[EXTRA,...]" from this tree.
ci_python() {
    local name=$1; shift
    local root; root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    if [ -n "${PY:-}" ]; then
        local reqs; mapfile -t reqs < <("$PY" "$root/tools/extras.py" "$@")
        [ "${#reqs[@]}" -eq 0 ] || "$PY" -m pip install -q "${reqs[@]}"
        CIPY=$PY
    else
        local venv="$root/.ci-venv/$name" extras
        extras=$(IFS=,; echo "$*")
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install -q "$root[$extras]"
        CIPY=$venv/bin/python
    fi
    export CIPY
}
