"""cubature workers=2 against workers=1 on a compiled integrand, in the same run (issue 15).

    PYTHONPATH=src python -m pytest benchmarks/bench_cubature_workers.py --benchmark-only
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import pytest

from fastcalc.bench import run_side, workloads

WORKLOADS = [w for w in workloads("integrate") if "workers=2" in w.name and "cubature" in w.name]


@pytest.mark.parametrize("side", ["fastcalc", "reference"])
@pytest.mark.parametrize("wl", WORKLOADS, ids=lambda w: w.name)
def test_cubature_workers(benchmark, wl, side):
    run_side(benchmark, wl, side)
