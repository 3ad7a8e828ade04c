"""pytest plugin: run SciPy's own integration tests with fastcalc's functions in place of SciPy's.

Load it with ``-p`` and point pytest at SciPy's installed test modules::

    PYTHONPATH=tools python -m pytest -p scipy_parity.integrate \\
        --pyargs scipy.integrate.tests.test_quadrature scipy.integrate.tests.test_quadpack

After collection, every name in :data:`BOUND` that a SciPy test module imported from
``scipy.integrate`` is rebound, in that module's globals, to fastcalc's function of the same name,
so the tests' bodies call fastcalc (``.ci/scipy_parity_integrate.sh`` runs exactly this).  SciPy's
own modules are not touched: only the test modules' names change.

Tests listed in :data:`DESELECTED` are skipped, each with its reason: a deliberate, documented
difference (see the docstrings of the functions concerned and the README), or a feature fastcalc
does not have.  Anything else that fails is a parity bug.
"""
import importlib
import sys

import pytest

#: the scipy.integrate names fastcalc provides (rebound in the test modules)
BOUND = ("quad", "dblquad", "tplquad", "nquad", "fixed_quad", "trapezoid", "simpson",
         "cumulative_trapezoid", "cumulative_simpson", "romb")

#: the SciPy test modules this plugin rebinds names in
MODULES = ("scipy.integrate.tests.test_quadrature", "scipy.integrate.tests.test_quadpack")

#: node-id fragments of deselected tests -> the reason (matched as substrings of the node id)
DESELECTED = {
    # array-API backends: fastcalc is a NumPy library (inputs are converted with np.asarray)
    "[torch": "array-API backend other than NumPy: fastcalc works on NumPy arrays",
    "[cupy": "array-API backend other than NumPy: fastcalc works on NumPy arrays",
    "[jax": "array-API backend other than NumPy: fastcalc works on NumPy arrays",
    "[dask": "array-API backend other than NumPy: fastcalc works on NumPy arrays",
    "[array_api_strict": "array-API backend other than NumPy: fastcalc works on NumPy arrays",
    # deliberate differences (documented in the docstrings and the README)
    "TestFixedQuad::test_vector": "fixed_quad's integrand returns one value per node (shape "
                                  "(n,)); vector-valued integrands go to cubature",
    "TestCtypesQuad::test_ctypes_variants": "an unsupported low-level signature is a TypeError "
                                            "naming the accepted ones (SciPy: ValueError)",
    # what fastcalc lacks
    "TestMultivariateCtypesQuad::": "ctypes functions declared 'double (int, double)' (SciPy's "
                                    "variadic multivariate callback) are not an accepted "
                                    "low-level signature; use 'double (int, double *)'",
}


def _fastcalc():
    return importlib.import_module("fastcalc")


def pytest_configure(config):
    config.addinivalue_line("markers", "fastcalc_deselected(reason): a documented difference")


def pytest_collection_modifyitems(session, config, items):
    fc = _fastcalc()
    for name in MODULES:
        mod = sys.modules.get(name)
        if mod is None:
            continue
        for attr in BOUND:
            if hasattr(mod, attr):
                setattr(mod, attr, getattr(fc, attr))
    for item in items:
        for key, reason in DESELECTED.items():
            if key in item.nodeid:
                item.add_marker(pytest.mark.skip(reason=f"fastcalc parity: {reason}"))
                break


def pytest_report_header(config):
    fc = _fastcalc()
    return [f"scipy_parity.integrate: fastcalc {fc.__version__} bound in place of "
            f"scipy.integrate.{{{', '.join(BOUND)}}} in {', '.join(MODULES)}"]
