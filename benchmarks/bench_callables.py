"""pytest-benchmark: the callable protocol, each workload paired with its reference in one run.

Run: OPENBLAS_NUM_THREADS=1 python -m pytest benchmarks/bench_callables.py
"""
import pytest

from fastcalc.bench import run_side, workloads


@pytest.mark.parametrize("side", ["fastcalc", "reference"])
@pytest.mark.parametrize("wl", workloads("callables"), ids=lambda w: w.name)
def test_callables(benchmark, wl, side):
    run_side(benchmark, wl, side)
