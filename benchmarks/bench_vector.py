import pytest

from fastcalc.bench import run_side, workloads


@pytest.mark.parametrize("side", ["fastcalc", "reference"])
@pytest.mark.parametrize("wl", workloads("vector"), ids=lambda w: w.name)
def test_vector(benchmark, wl, side):
    run_side(benchmark, wl, side)
