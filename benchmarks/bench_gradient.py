"""pytest-benchmark: gradients on their compiled roads (LowLevelCallable vs the floor of the same
evaluations, workers=2 vs workers=1), each pair in one run.

Run: OPENBLAS_NUM_THREADS=1 python -m pytest benchmarks/bench_gradient.py
"""
import pytest

from fastcalc.bench import run_side, workloads


@pytest.mark.parametrize("side", ["fastcalc", "reference"])
@pytest.mark.parametrize("wl", workloads("gradient"), ids=lambda w: w.name)
def test_gradient(benchmark, wl, side):
    run_side(benchmark, wl, side)
