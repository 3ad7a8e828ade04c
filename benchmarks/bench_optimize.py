"""pytest-benchmark: the optimizers, each workload paired with its reference in one run.

Run: OPENBLAS_NUM_THREADS=1 python -m pytest benchmarks/bench_optimize.py
"""
import pytest

from fastcalc.bench import run_side, workloads


@pytest.mark.parametrize("side", ["fastcalc", "reference"])
@pytest.mark.parametrize("wl", workloads("optimize"), ids=lambda w: w.name)
def test_optimize(benchmark, wl, side):
    run_side(benchmark, wl, side)
