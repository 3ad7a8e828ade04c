"""Paired scaling rows (issue 15): quad batch workers=2 vs workers=1, and 1e6 integrals on a
2-process Dask LocalCluster vs one process (targets in the registry: 0.6 and 0.65)."""
import pytest

from fastcalc.bench import run_side, workloads


@pytest.mark.parametrize("side", ["fastcalc", "reference"])
@pytest.mark.parametrize("wl", workloads("scaling"), ids=lambda w: w.name)
def test_scaling(benchmark, wl, side):
    run_side(benchmark, wl, side)
