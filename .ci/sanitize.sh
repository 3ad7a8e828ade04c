#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer, in its own venv and its own
# copy of the tree (the normal in-place build is left alone).  Any finding in fastcalc fails the run:
# ASan stops at the first error, UBSan is built with -fno-sanitize-recover.  Leak detection is off
# (CPython's own allocations at exit are reported as leaks; fastcalc's leaks are caught by the
# repeated-call memory tests instead).
#   bash .ci/sanitize.sh            (PYTHON=python3.11 to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
PYTHON=${PYTHON:-python3}
CC=${CC:-gcc}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
start=$(date +%s)
stamp() { echo "--- sanitize [$(( $(date +%s) - start ))s] $*"; }

asan_rt=$("$CC" -print-file-name=libasan.so)
[ -f "$asan_rt" ] || { echo "sanitize: $CC has no libasan.so (install the compiler's ASan runtime)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/fastcalc-asan.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ -n "${PY:-}" ]; then      # .ci/run: the test venv (its test packages); the ASan build shadows
    pyexe=$PY                  # its installed fastcalc through PYTHONPATH=src
    "$pyexe" -m pip install -q "cython>=3" setuptools
else
    venv=${SANITIZE_VENV:-$root/.ci-venv/sanitize}
    stamp "venv $venv"
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install -q "numpy>=2" scipy "cython>=3" setuptools pytest \
        pytest-benchmark hypothesis mpmath sympy numba
    pyexe=$venv/bin/python
fi

stamp "copy of the tree in $work, built with -fsanitize=address,undefined"
tar -C "$root" --exclude=.git --exclude=.ci-venv --exclude=.venv --exclude=build \
    --exclude='*.so' --exclude='src/fastcalc/*.c' -cf - . | tar -C "$work" -xf -
cd "$work"
sanflags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1 -DFC_NO_CLONES"
CC="$CC" CFLAGS="$sanflags" LDFLAGS="-fsanitize=address,undefined" \
    "$pyexe" setup.py -q build_ext --inplace > "$work/build.log" 2>&1 \
    || { tail -n 40 "$work/build.log"; exit 1; }

stamp "test suite under ASan/UBSan"
# the reports go to files of their own (one per process): pytest captures a test's file
# descriptor 2, and a process that aborts takes that captured text with it (a finding then
# looked like a bare SIGABRT with no report); subprocesses started by tests report there too
sanlog="$work/sanitizer"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=0:log_path=$sanlog"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$sanlog"
export PYTHONMALLOC=malloc        # let ASan see Python-object memory too
# matplotlib's own C++ extension aborts at import under the preloaded ASan runtime (a third-party
# matter): make it unimportable here, so the tests and examples that draw skip as without the
# plot extra; the plot tests themselves run in the normal test step.  The Dask cluster tests spawn
# worker processes (their kernels are the ones test_dask.py runs here on the threaded scheduler).
mkdir -p "$work/no-mpl/matplotlib"
printf 'raise ModuleNotFoundError("matplotlib is not loaded under ASan (its C++ extension aborts)")\n' \
    > "$work/no-mpl/matplotlib/__init__.py"
rc=0
LD_PRELOAD="$asan_rt" PYTHONPATH="src:$work/no-mpl" "$pyexe" -m pytest -q -p no:cacheprovider \
    -x tests --ignore=tests/test_fuzz.py --ignore=tests/test_plot.py --ignore=tests/test_readme.py \
    --ignore=tests/test_explore_browser.py --ignore=tests/test_notebooks.py \
    --ignore=tests/test_dask_cluster.py ${SANITIZE_PYTEST_ARGS:-} > "$work/tests.log" 2>&1 || rc=$?
for f in "$sanlog".*; do         # the sanitizer reports, after the test log
    [ -f "$f" ] && { echo "=== sanitizer report ${f##*/}"; cat "$f"; } >> "$work/tests.log"
done
mkdir -p "$root/.ci-artifacts" && cp "$work/tests.log" "$root/.ci-artifacts/sanitize-tests.log"
tail -n 25 "$work/tests.log"
if grep -q -E "ERROR: AddressSanitizer|runtime error:" "$work/tests.log"; then
    echo "sanitize: FINDINGS (see above)"
    grep -n -E -A30 "ERROR: AddressSanitizer|runtime error:" "$work/tests.log" | head -n 80
    exit 1
fi
if [ "$rc" -ne 0 ]; then
    grep -n -E -B5 -A25 "Fatal Python error|AddressSanitizer|Sanitizer" "$work/tests.log" | head -n 80
    echo "sanitize: the test suite failed under ASan/UBSan (exit $rc)"
    exit 1
fi
stamp "zero findings"
