# cython: language_level=3
"""Built-in C test functions: registers the kernels of ``_src/fc_functions.h`` with the protocol."""

import numpy as np

from fastcalc._core cimport make_function, OUT_VALUE, OUT_GRAD, OUT_HESS
from fastcalc._core import _link_derivatives, _BUILTINS

cdef extern from "fc_functions.h":
    void fc_sphere_f(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_sphere_f_ll "(void *)fc_sphere_f_ll"
    void fc_sphere_g(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_sphere_g_ll "(void *)fc_sphere_g_ll"
    void fc_sphere_h(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_sphere_h_ll "(void *)fc_sphere_h_ll"
    void fc_rosenbrock_f(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_rosenbrock_f_ll "(void *)fc_rosenbrock_f_ll"
    void fc_rosenbrock_g(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_rosenbrock_g_ll "(void *)fc_rosenbrock_g_ll"
    void fc_rosenbrock_h(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_rosenbrock_h_ll "(void *)fc_rosenbrock_h_ll"
    void fc_rastrigin_f(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_rastrigin_f_ll "(void *)fc_rastrigin_f_ll"
    void fc_rastrigin_g(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_rastrigin_g_ll "(void *)fc_rastrigin_g_ll"
    void fc_rastrigin_h(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_rastrigin_h_ll "(void *)fc_rastrigin_h_ll"
    void fc_ackley_f(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_ackley_f_ll "(void *)fc_ackley_f_ll"
    void fc_ackley_g(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_ackley_g_ll "(void *)fc_ackley_g_ll"
    void fc_styblinski_tang_f(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_styblinski_tang_f_ll "(void *)fc_styblinski_tang_f_ll"
    void fc_styblinski_tang_g(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_styblinski_tang_g_ll "(void *)fc_styblinski_tang_g_ll"
    void fc_styblinski_tang_h(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_styblinski_tang_h_ll "(void *)fc_styblinski_tang_h_ll"
    void fc_himmelblau_f(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_himmelblau_f_ll "(void *)fc_himmelblau_f_ll"
    void fc_himmelblau_g(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_himmelblau_g_ll "(void *)fc_himmelblau_g_ll"
    void fc_himmelblau_h(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_himmelblau_h_ll "(void *)fc_himmelblau_h_ll"
    void fc_beale_f(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_beale_f_ll "(void *)fc_beale_f_ll"
    void fc_beale_g(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_beale_g_ll "(void *)fc_beale_g_ll"
    void fc_beale_h(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_beale_h_ll "(void *)fc_beale_h_ll"
    void fc_booth_f(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_booth_f_ll "(void *)fc_booth_f_ll"
    void fc_booth_g(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_booth_g_ll "(void *)fc_booth_g_ll"
    void fc_booth_h(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_booth_h_ll "(void *)fc_booth_h_ll"
    void fc_goldstein_price_f(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_goldstein_price_f_ll "(void *)fc_goldstein_price_f_ll"
    void fc_goldstein_price_g(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_goldstein_price_g_ll "(void *)fc_goldstein_price_g_ll"
    void fc_square_f(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_square_f_ll "(void *)fc_square_f_ll"
    void fc_square_g(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_square_g_ll "(void *)fc_square_g_ll"
    void fc_square_h(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_square_h_ll "(void *)fc_square_h_ll"
    void fc_sin_f(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_sin_f_ll "(void *)fc_sin_f_ll"
    void fc_sin_g(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_sin_g_ll "(void *)fc_sin_g_ll"
    void fc_sin_h(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_sin_h_ll "(void *)fc_sin_h_ll"
    void fc_gauss_f(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_gauss_f_ll "(void *)fc_gauss_f_ll"
    void fc_gauss_g(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_gauss_g_ll "(void *)fc_gauss_g_ll"
    void fc_gauss_h(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_gauss_h_ll "(void *)fc_gauss_h_ll"
    void fc_sigmoid_f(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_sigmoid_f_ll "(void *)fc_sigmoid_f_ll"
    void fc_sigmoid_g(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_sigmoid_g_ll "(void *)fc_sigmoid_g_ll"
    void fc_sigmoid_h(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_sigmoid_h_ll "(void *)fc_sigmoid_h_ll"

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


def _register():
    _link_derivatives(
        make_function('sphere', fc_sphere_f, fc_sphere_f_ll, SIG_ND, 0, 1, OUT_VALUE, MINIMA.get('sphere'), DOCS['sphere']),
        make_function('sphere.grad', fc_sphere_g, fc_sphere_g_ll, SIG_VEC, 0, 1, OUT_GRAD, None, DOCS['sphere']),
        make_function('sphere.hess', fc_sphere_h, fc_sphere_h_ll, SIG_VEC, 0, 1, OUT_HESS, None, DOCS['sphere']))
    _link_derivatives(
        make_function('rosenbrock', fc_rosenbrock_f, fc_rosenbrock_f_ll, SIG_ND, 0, 2, OUT_VALUE, MINIMA.get('rosenbrock'), DOCS['rosenbrock']),
        make_function('rosenbrock.grad', fc_rosenbrock_g, fc_rosenbrock_g_ll, SIG_VEC, 0, 2, OUT_GRAD, None, DOCS['rosenbrock']),
        make_function('rosenbrock.hess', fc_rosenbrock_h, fc_rosenbrock_h_ll, SIG_VEC, 0, 2, OUT_HESS, None, DOCS['rosenbrock']))
    _link_derivatives(
        make_function('rastrigin', fc_rastrigin_f, fc_rastrigin_f_ll, SIG_ND, 0, 1, OUT_VALUE, MINIMA.get('rastrigin'), DOCS['rastrigin']),
        make_function('rastrigin.grad', fc_rastrigin_g, fc_rastrigin_g_ll, SIG_VEC, 0, 1, OUT_GRAD, None, DOCS['rastrigin']),
        make_function('rastrigin.hess', fc_rastrigin_h, fc_rastrigin_h_ll, SIG_VEC, 0, 1, OUT_HESS, None, DOCS['rastrigin']))
    _link_derivatives(
        make_function('ackley', fc_ackley_f, fc_ackley_f_ll, SIG_ND, 0, 1, OUT_VALUE, MINIMA.get('ackley'), DOCS['ackley']),
        make_function('ackley.grad', fc_ackley_g, fc_ackley_g_ll, SIG_VEC, 0, 1, OUT_GRAD, None, DOCS['ackley']),
        None)
    _link_derivatives(
        make_function('styblinski_tang', fc_styblinski_tang_f, fc_styblinski_tang_f_ll, SIG_ND, 0, 1, OUT_VALUE, MINIMA.get('styblinski_tang'), DOCS['styblinski_tang']),
        make_function('styblinski_tang.grad', fc_styblinski_tang_g, fc_styblinski_tang_g_ll, SIG_VEC, 0, 1, OUT_GRAD, None, DOCS['styblinski_tang']),
        make_function('styblinski_tang.hess', fc_styblinski_tang_h, fc_styblinski_tang_h_ll, SIG_VEC, 0, 1, OUT_HESS, None, DOCS['styblinski_tang']))
    _link_derivatives(
        make_function('himmelblau', fc_himmelblau_f, fc_himmelblau_f_ll, SIG_ND, 2, 2, OUT_VALUE, MINIMA.get('himmelblau'), DOCS['himmelblau']),
        make_function('himmelblau.grad', fc_himmelblau_g, fc_himmelblau_g_ll, SIG_VEC, 2, 2, OUT_GRAD, None, DOCS['himmelblau']),
        make_function('himmelblau.hess', fc_himmelblau_h, fc_himmelblau_h_ll, SIG_VEC, 2, 2, OUT_HESS, None, DOCS['himmelblau']))
    _link_derivatives(
        make_function('beale', fc_beale_f, fc_beale_f_ll, SIG_ND, 2, 2, OUT_VALUE, MINIMA.get('beale'), DOCS['beale']),
        make_function('beale.grad', fc_beale_g, fc_beale_g_ll, SIG_VEC, 2, 2, OUT_GRAD, None, DOCS['beale']),
        make_function('beale.hess', fc_beale_h, fc_beale_h_ll, SIG_VEC, 2, 2, OUT_HESS, None, DOCS['beale']))
    _link_derivatives(
        make_function('booth', fc_booth_f, fc_booth_f_ll, SIG_ND, 2, 2, OUT_VALUE, MINIMA.get('booth'), DOCS['booth']),
        make_function('booth.grad', fc_booth_g, fc_booth_g_ll, SIG_VEC, 2, 2, OUT_GRAD, None, DOCS['booth']),
        make_function('booth.hess', fc_booth_h, fc_booth_h_ll, SIG_VEC, 2, 2, OUT_HESS, None, DOCS['booth']))
    _link_derivatives(
        make_function('goldstein_price', fc_goldstein_price_f, fc_goldstein_price_f_ll, SIG_ND, 2, 2, OUT_VALUE, MINIMA.get('goldstein_price'), DOCS['goldstein_price']),
        make_function('goldstein_price.grad', fc_goldstein_price_g, fc_goldstein_price_g_ll, SIG_VEC, 2, 2, OUT_GRAD, None, DOCS['goldstein_price']),
        None)
    _link_derivatives(
        make_function('square', fc_square_f, fc_square_f_ll, SIG_1D, 1, 1, OUT_VALUE, MINIMA.get('square'), DOCS['square']),
        make_function('square.grad', fc_square_g, fc_square_g_ll, SIG_1D, 1, 1, OUT_GRAD, None, DOCS['square']),
        make_function('square.hess', fc_square_h, fc_square_h_ll, SIG_1D, 1, 1, OUT_HESS, None, DOCS['square']))
    _link_derivatives(
        make_function('sin', fc_sin_f, fc_sin_f_ll, SIG_1D, 1, 1, OUT_VALUE, MINIMA.get('sin'), DOCS['sin']),
        make_function('sin.grad', fc_sin_g, fc_sin_g_ll, SIG_1D, 1, 1, OUT_GRAD, None, DOCS['sin']),
        make_function('sin.hess', fc_sin_h, fc_sin_h_ll, SIG_1D, 1, 1, OUT_HESS, None, DOCS['sin']))
    _link_derivatives(
        make_function('gauss', fc_gauss_f, fc_gauss_f_ll, SIG_1D, 1, 1, OUT_VALUE, MINIMA.get('gauss'), DOCS['gauss']),
        make_function('gauss.grad', fc_gauss_g, fc_gauss_g_ll, SIG_1D, 1, 1, OUT_GRAD, None, DOCS['gauss']),
        make_function('gauss.hess', fc_gauss_h, fc_gauss_h_ll, SIG_1D, 1, 1, OUT_HESS, None, DOCS['gauss']))
    _link_derivatives(
        make_function('sigmoid', fc_sigmoid_f, fc_sigmoid_f_ll, SIG_1D, 1, 1, OUT_VALUE, MINIMA.get('sigmoid'), DOCS['sigmoid']),
        make_function('sigmoid.grad', fc_sigmoid_g, fc_sigmoid_g_ll, SIG_1D, 1, 1, OUT_GRAD, None, DOCS['sigmoid']),
        make_function('sigmoid.hess', fc_sigmoid_h, fc_sigmoid_h_ll, SIG_1D, 1, 1, OUT_HESS, None, DOCS['sigmoid']))
    return dict(_BUILTINS)


BUILTINS = _register()
