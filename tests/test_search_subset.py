"""The step search runs only the results that did not converge in the first pass, at the points
where they did not (not every coordinate of those points).  A 1000-variable gradient whose one
coordinate needs the search cost 146 evaluations per coordinate before; now about 6.
References: scipy.optimize.rosen_der / the built-in's analytic Hessian."""
import warnings

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der

import fastcalc as fc
from fastcalc import _steps

F = fc.functions


def _counting(f):
    calls = [0]

    def g(x):
        calls[0] += 1
        return f(x)
    return g, calls


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_gradient_searches_only_its_unconverged_coordinates(seed):
    x = np.random.default_rng(seed).uniform(-1.5, 1.5, 1000)     # f ~ 1e5: a few coordinates
    f, calls = _counting(rosen)
    r = fc.gradient(f, x, full_output=True)
    assert (r.status == 0).all()
    assert calls[0] < 6.5 * x.size                    # 6 per coordinate in the first pass
    exact = rosen_der(x)
    assert np.all(np.abs(r.df - exact) <= r.error)
    calls[0] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = fc.gradient(f, x)                           # the compiled fast path, then the engine
    np.testing.assert_array_equal(g, r.df)              # the same numbers to the bit
    assert calls[0] < 6.5 * x.size


def test_the_search_sees_only_the_failing_results(monkeypatch):
    seen = []
    search = _steps._search2

    def spy(ev, specs, x2, *a, **k):
        seen.append((len(specs), x2.shape[1]))
        return search(ev, specs, x2, *a, **k)
    monkeypatch.setattr(_steps, "_search2", spy)
    x = np.random.default_rng(3).uniform(-1.5, 1.5, 1000)
    fc.gradient(rosen, x, full_output=True)
    assert seen and all(nspec < 10 and m == 1 for nspec, m in seen), seen


def test_gradient_fast_path_warns_with_the_whole_count():
    # one coordinate that cannot converge (a jump at x0): the warning counts it out of all n
    f = lambda x: float(x[0] > 0.3) + np.sum(x[1:] ** 2)
    x = np.full(50, 0.3)
    with pytest.warns(fc.DifferentiationWarning, match=r"^1 of 50 elements"):
        g = fc.gradient(f, x)
    r = fc.gradient(f, x, full_output=True)
    np.testing.assert_array_equal(g, r.df)
    assert r.status[0] < 0 and (r.status[1:] == 0).all()


def test_hessian_search_subset_keeps_the_values_honest():
    X = np.random.default_rng(17).uniform(0.5, 1.5, (20, 300))
    r = fc.hessian(F.rosenbrock, X, full_output=True)
    exact = F.rosenbrock.hess(X)
    ok = r.status >= 0
    assert ok.all()
    assert np.all(np.abs(r.df - exact) <= r.error)
    assert r.nfev / X.shape[1] < 3000                  # 5360 per point when whole points searched


def test_search_groups_cover_the_failed_results():
    fail = np.zeros((40, 30), bool)
    fail[0, 1] = fail[3, 1] = fail[2, 4] = fail[9, 7] = fail[9, 8] = True   # sparse: grouped
    fail[20, 15] = fail[30, 25] = True
    groups = _steps._search_groups(fail)
    covered = np.zeros_like(fail)
    for rows, cols in groups:
        covered[np.ix_(rows, cols)] = True
    assert np.array_equal(covered, fail)                 # exactly, by the points' sets
    assert sorted(len(r) for r, _ in groups) == [1, 1, 1, 1, 2]
    dense = np.ones((3, 4), bool)
    dense[0, 0] = False
    (rows, cols), = _steps._search_groups(dense)          # dense: one block (a superset)
    assert rows.tolist() == [0, 1, 2] and cols.tolist() == [0, 1, 2, 3]
    assert _steps._search_groups(np.zeros((2, 3), bool)) == []
