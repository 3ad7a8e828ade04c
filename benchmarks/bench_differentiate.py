"""pytest-benchmark: differentiation, each workload paired with its SciPy counterpart in one run.

Run: OPENBLAS_NUM_THREADS=1 python -m pytest benchmarks/bench_differentiate.py
"""
import pytest

from fastcalc.bench import run_side, workloads


@pytest.mark.parametrize("side", ["fastcalc", "reference"])
@pytest.mark.parametrize("wl", workloads("differentiate"), ids=lambda w: w.name)
def test_differentiate(benchmark, wl, side):
    run_side(benchmark, wl, side)
