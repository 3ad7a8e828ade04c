"""pytest-benchmark: the Hessian at growing sizes, paired with a numba loop of the same evaluations
(and workers=2 vs workers=1 once the public functions take ``workers=``), in one run.

Run: OPENBLAS_NUM_THREADS=1 python -m pytest benchmarks/bench_hessian.py
The d = 2000 row (tens of seconds per call) runs with FASTCALC_BENCH_LARGE=1 only.
"""
import os

import pytest

from fastcalc.bench import run_side, workloads

LARGE = os.environ.get("FASTCALC_BENCH_LARGE", "") not in ("", "0")
ROWS = [w for w in workloads("hessian") if LARGE or w.quick]


@pytest.mark.parametrize("side", ["fastcalc", "reference"])
@pytest.mark.parametrize("wl", ROWS, ids=lambda w: w.name)
def test_hessian(benchmark, wl, side):
    run_side(benchmark, wl, side)
