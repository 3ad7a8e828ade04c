# cython: language_level=3
"""Built-in C test functions: registers every row of the table in ``_src/fc_functions.h``.

The C header holds the kernels and ONE table (``fc_builtins``: name, dimensions, value/gradient/
Hessian batch entries and their low-level wrappers); this module adds the Python-side data (minima,
docs) by name and makes the :class:`~fastcalc._core.Function` objects.  A new built-in is one C
function per output plus one table row there and one entry in ``MINIMA``/``DOCS`` here.
"""

import numpy as np

from fastcalc._core cimport (Function, make_function, register_builtin, fc_batch_fn,
                             OUT_VALUE, OUT_GRAD, OUT_HESS)

cdef extern from "fc_functions.h":
    ctypedef struct fc_builtin:
        const char *name
        int ndim
        int min_ndim
        fc_batch_fn f
        fc_batch_fn g
        fc_batch_fn h
        void *f_ll
        void *g_ll
        void *h_ll
    const fc_builtin fc_builtins[]
    const int fc_nbuiltins

cdef const char *SIG_1D = "double (double)"
cdef const char *SIG_ND = "double (int, double *)"
cdef const char *SIG_VEC = "void (int, const double *, int, double *, void *)"

_ST_X = -2.903534027771177
_ST_F = -39.16616570377142

MINIMA = {
    "sphere": lambda n: [(np.zeros(n), 0.0)],
    "rosenbrock": lambda n: [(np.ones(n), 0.0)],
    "rastrigin": lambda n: [(np.zeros(n), 0.0)],
    "ackley": lambda n: [(np.zeros(n), 0.0)],
    "styblinski_tang": lambda n: [(np.full(n, _ST_X), _ST_F * n)],
    "himmelblau": lambda n: [((3.0, 2.0), 0.0),
                             ((-2.805118086952745, 3.131312518250573), 0.0),
                             ((-3.779310253377747, -3.283185991286170), 0.0),
                             ((3.584428340330492, -1.848126526964404), 0.0)],
    "beale": lambda n: [((3.0, 0.5), 0.0)],
    "booth": lambda n: [((1.0, 3.0), 0.0)],
    "goldstein_price": lambda n: [((0.0, -1.0), 3.0)],
    "square": lambda n: [(0.0, 0.0)],
    "sin": lambda n: [(-np.pi / 2, -1.0)],
    "gauss": lambda n: [],
    "sigmoid": lambda n: [],
}

DOCS = {
    "sphere": "sum(x_i**2); any n >= 1; minimum 0 at the origin.",
    "rosenbrock": "sum(100 (x_(i+1) - x_i**2)**2 + (1 - x_i)**2) (as scipy.optimize.rosen); n >= 2; minimum 0 at (1, ..., 1).",
    "rastrigin": "10 n + sum(x_i**2 - 10 cos(2 pi x_i)); any n; many local minima, global minimum 0 at the origin.",
    "ackley": "-20 exp(-0.2 sqrt(mean(x**2))) - exp(mean(cos(2 pi x))) + 20 + e; any n; minimum 0 at the origin (a kink: the gradient there is taken as 0).",
    "styblinski_tang": "sum(x_i**4 - 16 x_i**2 + 5 x_i) / 2; any n; minimum -39.16616570377142 n at x_i = -2.903534027771177.",
    "himmelblau": "(x**2 + y - 11)**2 + (x + y**2 - 7)**2; four minima of value 0.",
    "beale": "(1.5 - x + x y)**2 + (2.25 - x + x y**2)**2 + (2.625 - x + x y**3)**2; minimum 0 at (3, 0.5).",
    "booth": "(x + 2y - 7)**2 + (2x + y - 5)**2; minimum 0 at (1, 3).",
    "goldstein_price": "Goldstein-Price function; minimum 3 at (0, -1).",
    "square": "x**2 (one variable).",
    "sin": "sin(x) (one variable).",
    "gauss": "exp(-x**2) (one variable); its integral over the real line is sqrt(pi).",
    "sigmoid": "1 / (1 + exp(-x)) (one variable), evaluated without overflow; derivative sigma (1 - sigma).",
}


cdef Function _make(const fc_builtin *row, str suffix, fc_batch_fn batch, void *ll, int output):
    name = (<bytes>row.name).decode()
    cdef const char *sig
    if row.ndim == 1:
        sig = SIG_1D
    elif output == OUT_VALUE:
        sig = SIG_ND
    else:
        sig = SIG_VEC
    return make_function(name + suffix, batch, ll, sig, row.ndim, row.min_ndim, output,
                         MINIMA.get(name) if output == OUT_VALUE else None, DOCS[name])


def _register():
    cdef int r
    cdef const fc_builtin *row
    out = {}
    for r in range(fc_nbuiltins):
        row = &fc_builtins[r]
        f = _make(row, "", row.f, row.f_ll, OUT_VALUE)
        g = _make(row, ".grad", row.g, row.g_ll, OUT_GRAD)
        h = _make(row, ".hess", row.h, row.h_ll, OUT_HESS) if row.h != NULL else None
        register_builtin(f, g, h)
        for fn in (f, g, h):
            if fn is not None:
                out[fn.name] = fn
    return out


BUILTINS = _register()
