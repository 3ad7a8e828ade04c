"""The Moré-Garbow-Hillstrom unconstrained test problems (ACM TOMS 7 (1981) 17-41): f = sum r_i^2.

The residuals are written once for complex arguments, and the gradients come from the complex step
(grad_i = Im f(x + i h e_i) / h, h = 1e-100): exact to rounding and independent of fastcalc.

Each problem: name -> (residuals(x) -> list of sympy expressions, n, standard start, published f*).
The published minima have about six significant digits; tests refine them with a tight SciPy run
and check the agreement first.
"""
import functools

import numpy as np


class M:
    """The functions the residuals use (complex-step safe)."""
    exp, sqrt, sin, cos, pi = np.exp, np.sqrt, np.sin, np.cos, np.pi

    @staticmethod
    def Rational(a, b):
        return a / b

    @staticmethod
    def atan2(y, x):
        # MGH's theta: arctan(y/x), + pi when x < 0 (the branch taken on the real part)
        return np.arctan(y / x) + (np.pi if np.real(x) < 0 else 0.0)


def _rosenbrock(x):
    return [10 * (x[1] - x[0] ** 2), 1 - x[0]]


def _freudenstein_roth(x):
    return [-13 + x[0] + ((5 - x[1]) * x[1] - 2) * x[1], -29 + x[0] + ((x[1] + 1) * x[1] - 14) * x[1]]


def _powell_badly_scaled(x):
    return [10 ** 4 * x[0] * x[1] - 1, M.exp(-x[0]) + M.exp(-x[1]) - M.Rational(10001, 10000)]


def _brown_badly_scaled(x):
    return [x[0] - 10 ** 6, x[1] - M.Rational(2, 10 ** 6), x[0] * x[1] - 2]


def _beale(x):
    y = [M.Rational(3, 2), M.Rational(9, 4), M.Rational(21, 8)]
    return [y[i] - x[0] * (1 - x[1] ** (i + 1)) for i in range(3)]


def _jennrich_sampson(x):
    return [2 + 2 * i - (M.exp(i * x[0]) + M.exp(i * x[1])) for i in range(1, 11)]


def _helical_valley(x):
    theta = M.atan2(x[1], x[0]) / (2 * M.pi)
    return [10 * (x[2] - 10 * theta), 10 * (M.sqrt(x[0] ** 2 + x[1] ** 2) - 1), x[2]]


_BARD_Y = [0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10, 4.39]


def _bard(x):
    r = []
    for i in range(1, 16):
        u, v = i, 16 - i
        w = min(u, v)
        r.append(_BARD_Y[i - 1] - (x[0] + u / (v * x[1] + w * x[2])))
    return r


_GAUSS_Y = [0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989, 0.3521, 0.2420, 0.1295,
            0.0540, 0.0175, 0.0044, 0.0009]


def _gaussian(x):
    return [x[0] * M.exp(-x[1] * (M.Rational(8 - i, 2) - x[2]) ** 2 / 2) - _GAUSS_Y[i - 1]
            for i in range(1, 16)]


_MEYER_Y = [34780, 28610, 23650, 19630, 16370, 13720, 11540, 9744, 8261, 7030, 6005, 5147, 4427,
            3820, 3307, 2872]


def _meyer(x):
    return [x[0] * M.exp(x[1] / (45 + 5 * i + x[2])) - _MEYER_Y[i - 1] for i in range(1, 17)]


def _box3d(x):
    r = []
    for i in range(1, 11):
        t = i / 10.0
        r.append(M.exp(-t * x[0]) - M.exp(-t * x[1]) - x[2] * (M.exp(-t) - M.exp(-10 * t)))
    return r


def _powell_singular(x):
    return [x[0] + 10 * x[1], M.sqrt(5) * (x[2] - x[3]), (x[1] - 2 * x[2]) ** 2,
            M.sqrt(10) * (x[0] - x[3]) ** 2]


def _wood(x):
    return [10 * (x[1] - x[0] ** 2), 1 - x[0], M.sqrt(90) * (x[3] - x[2] ** 2), 1 - x[2],
            M.sqrt(10) * (x[1] + x[3] - 2), (x[1] - x[3]) / M.sqrt(10)]


_KO_Y = [0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235, 0.0246]
_KO_U = [4, 2, 1, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625]


def _kowalik_osborne(x):
    return [y - x[0] * (u * u + u * x[1]) / (u * u + u * x[2] + x[3]) for y, u in zip(_KO_Y, _KO_U)]


def _brown_dennis(x):
    r = []
    for i in range(1, 21):
        t = i / 5.0
        r.append((x[0] + t * x[1] - M.exp(t)) ** 2 + (x[2] + x[3] * M.sin(t) - M.cos(t)) ** 2)
    return r


def _biggs_exp6(x):
    r = []
    for i in range(1, 14):
        t = i / 10.0
        y = M.exp(-t) - 5 * M.exp(-10 * t) + 3 * M.exp(-4 * t)
        r.append(x[2] * M.exp(-t * x[0]) - x[3] * M.exp(-t * x[1]) + x[5] * M.exp(-t * x[4]) - y)
    return r


def _watson(x):
    """Written in NumPy with its hand-derived Jacobian (sympy takes seconds on it): returns
    (r, J) for a NumPy x."""
    n = len(x)
    t = np.arange(1, 30) / 29.0
    j = np.arange(n)
    P = t[:, None] ** j                                   # t^(j)
    dP = np.where(j > 0, j * t[:, None] ** np.maximum(j - 1, 0), 0.0)   # (j) t^(j-1)
    s1, s2 = dP @ x, P @ x
    r = np.concatenate([s1 - s2 ** 2 - 1, [x[0], x[1] - x[0] ** 2 - 1]])
    J = np.vstack([dP - 2 * s2[:, None] * P, np.eye(n)[0], np.eye(n)[1] - 2 * x[0] * np.eye(n)[0]])
    return r, J


def _ext_rosenbrock(x):
    r = []
    for i in range(0, len(x), 2):
        r += [10 * (x[i + 1] - x[i] ** 2), 1 - x[i]]
    return r


def _ext_powell(x):
    r = []
    for i in range(0, len(x), 4):
        r += _powell_singular(x[i:i + 4])
    return r


def _penalty1(x):
    a = M.sqrt(M.Rational(1, 10 ** 5))
    return [a * (xi - 1) for xi in x] + [sum(xi ** 2 for xi in x) - M.Rational(1, 4)]


def _penalty2(x):
    n = len(x)
    a = M.sqrt(M.Rational(1, 10 ** 5))
    r = [x[0] - M.Rational(1, 5)]
    for i in range(2, n + 1):
        y = M.exp(M.Rational(i, 10)) + M.exp(M.Rational(i - 1, 10))
        r.append(a * (M.exp(x[i - 1] / 10) + M.exp(x[i - 2] / 10) - y))
    for i in range(n + 1, 2 * n):
        r.append(a * (M.exp(x[i - n] / 10) - M.exp(M.Rational(-1, 10))))
    r.append(sum((n - j + 1) * x[j - 1] ** 2 for j in range(1, n + 1)) - 1)
    return r


def _variably_dimensioned(x):
    s = sum((j + 1) * (xj - 1) for j, xj in enumerate(x))
    return [xj - 1 for xj in x] + [s, s ** 2]


def _trigonometric(x):
    n = len(x)
    c = sum(M.cos(xj) for xj in x)
    return [n - c + (i + 1) * (1 - M.cos(xi)) - M.sin(xi) for i, xi in enumerate(x)]


#: name -> (residuals, n, x0, published f*)
PROBLEMS = {
    "rosenbrock": (_rosenbrock, 2, [-1.2, 1.0], 0.0),
    "freudenstein_roth": (_freudenstein_roth, 2, [0.5, -2.0], 48.9842),
    "powell_badly_scaled": (_powell_badly_scaled, 2, [0.0, 1.0], 0.0),
    "brown_badly_scaled": (_brown_badly_scaled, 2, [1.0, 1.0], 0.0),
    "beale": (_beale, 2, [1.0, 1.0], 0.0),
    "jennrich_sampson": (_jennrich_sampson, 2, [0.3, 0.4], 124.362),
    "helical_valley": (_helical_valley, 3, [-1.0, 0.0, 0.0], 0.0),
    "bard": (_bard, 3, [1.0, 1.0, 1.0], 8.21487e-3),
    "gaussian": (_gaussian, 3, [0.4, 1.0, 0.0], 1.12793e-8),
    "meyer": (_meyer, 3, [0.02, 4000.0, 250.0], 87.9458),
    "box3d": (_box3d, 3, [0.0, 10.0, 20.0], 0.0),
    "powell_singular": (_powell_singular, 4, [3.0, -1.0, 0.0, 1.0], 0.0),
    "wood": (_wood, 4, [-3.0, -1.0, -3.0, -1.0], 0.0),
    "kowalik_osborne": (_kowalik_osborne, 4, [0.25, 0.39, 0.415, 0.39], 3.07505e-4),
    "brown_dennis": (_brown_dennis, 4, [25.0, 5.0, -5.0, -1.0], 85822.2),
    "biggs_exp6": (_biggs_exp6, 6, [1.0, 2.0, 1.0, 1.0, 1.0, 1.0], 5.65565e-3),
    "watson": (_watson, 6, [0.0] * 6, 2.28767e-3),
    "ext_rosenbrock": (_ext_rosenbrock, 10, [-1.2, 1.0] * 5, 0.0),
    "ext_powell": (_ext_powell, 8, [3.0, -1.0, 0.0, 1.0] * 2, 0.0),
    "penalty1": (_penalty1, 4, [1.0, 2.0, 3.0, 4.0], 2.24998e-5),
    "penalty2": (_penalty2, 4, [0.5] * 4, 9.37629e-6),
    "variably_dimensioned": (_variably_dimensioned, 10, [1 - j / 10 for j in range(1, 11)], 0.0),
    "trigonometric": (_trigonometric, 10, [0.1] * 10, 0.0),
}


@functools.lru_cache(maxsize=None)
def problem(name):
    """(f, grad, x0, published f*) as NumPy callables of x (shape (n,))."""
    res, n, x0, fstar = PROBLEMS[name]
    if res is _watson:
        return (lambda x: float(res(x)[0] @ res(x)[0]), lambda x: 2.0 * res(x)[1].T @ res(x)[0],
                np.array(x0, dtype=float), fstar)

    def fc_(x):
        r = np.array(res(list(x)), dtype=complex)
        return np.sum(r * r)

    def f(x):
        return float(np.real(fc_(np.asarray(x, dtype=complex))))

    def grad(x):
        x = np.asarray(x, dtype=complex)
        g = np.empty(n)
        for i in range(n):
            xi = x.copy()
            xi[i] += 1e-100j
            g[i] = np.imag(fc_(xi)) / 1e-100
        return g
    return f, grad, np.array(x0, dtype=float), fstar
