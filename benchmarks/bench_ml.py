"""pytest-benchmark: fastcalc.ml (issue 12), each workload paired with its NumPy/SciPy reference
in one run (the float32 rows pair fastcalc float32 with fastcalc float64).

Run: OPENBLAS_NUM_THREADS=1 python -m pytest benchmarks/bench_ml.py
"""
import pytest

from fastcalc.bench import run_side, workloads


@pytest.mark.parametrize("side", ["fastcalc", "reference"])
@pytest.mark.parametrize("wl", workloads("ml"), ids=lambda w: w.name)
def test_ml(benchmark, wl, side):
    run_side(benchmark, wl, side)
