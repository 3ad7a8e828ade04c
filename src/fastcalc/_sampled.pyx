# cython: language_level=3
"""Sampled-data rules of fastcalc: trapezoid, Simpson, their cumulative versions and Romberg.

Data are viewed as (outer, N, inner) C-contiguous arrays; every rule makes one pass over the
samples without temporaries (the contiguous reductions are SIMD C in ``_src/fc_sampled.h``).
"""

from libc.math cimport fabs, ldexp
from libc.string cimport memset

import numpy as np

cdef extern from "fc_sampled.h":
    double fc_sum_odd_even(const double *y, Py_ssize_t stop, double *s_even) noexcept nogil
    double fc_sum(const double *y, Py_ssize_t n) noexcept nogil
    double fc_trap_x(const double *y, const double *x, Py_ssize_t n) noexcept nogil
    double fc_simpson_x(const double *y, const double *x, Py_ssize_t stop) noexcept nogil

cdef void _trap_dx(const double *y, Py_ssize_t N, Py_ssize_t inner, Py_ssize_t outer, double dx,
                   double *out) noexcept nogil:
    cdef Py_ssize_t o, k, i
    cdef const double *yo
    cdef double *oo
    cdef double s
    for o in range(outer):
        yo = y + o * N * inner
        oo = out + o * inner
        if inner == 1:
            s = fc_sum(yo + 1, N - 2) if N > 2 else 0.0
            oo[0] = dx * (s + 0.5 * (yo[0] + yo[N - 1])) if N > 1 else 0.0
        else:
            for i in range(inner):
                oo[i] = 0.5 * (yo[i] + yo[(N - 1) * inner + i]) if N > 1 else 0.0
            for k in range(1, N - 1):
                for i in range(inner):
                    oo[i] += yo[k * inner + i]
            for i in range(inner):
                oo[i] *= dx


cdef void _trap_x(const double *y, const double *x, bint x1d, Py_ssize_t N, Py_ssize_t inner,
                  Py_ssize_t outer, double *out) noexcept nogil:
    cdef Py_ssize_t o, k, i
    cdef const double *yo
    cdef const double *xo
    cdef double *oo
    cdef double s
    for o in range(outer):
        yo = y + o * N * inner
        oo = out + o * inner
        if inner == 1 and x1d:
            oo[0] = fc_trap_x(yo, x, N) if N > 1 else 0.0
        else:
            xo = x if x1d else x + o * N * inner
            for i in range(inner):
                oo[i] = 0.0
            for k in range(N - 1):
                if x1d:
                    for i in range(inner):
                        oo[i] += (x[k + 1] - x[k]) * (yo[(k + 1) * inner + i] + yo[k * inner + i])
                else:
                    for i in range(inner):
                        oo[i] += (xo[(k + 1) * inner + i] - xo[k * inner + i]) * \
                            (yo[(k + 1) * inner + i] + yo[k * inner + i])
            for i in range(inner):
                oo[i] *= 0.5


cdef inline double _simp_w0(double h0, double h1) noexcept nogil:
    cdef double q = h0 / h1 if h1 != 0.0 else 0.0
    return 2.0 - (1.0 / q if q != 0.0 else 0.0)


cdef inline double _simp_pair(double h0, double h1, double y0, double y1, double y2) noexcept nogil:
    """SciPy's uneven-spacing Simpson panel (same guards against zero spacings)."""
    cdef double hsum = h0 + h1, hprod = h0 * h1
    cdef double q = h0 / h1 if h1 != 0.0 else 0.0
    cdef double iq = 1.0 / q if q != 0.0 else 0.0
    cdef double c1 = hsum * (hsum / hprod if hprod != 0.0 else 0.0)
    return hsum / 6.0 * (y0 * (2.0 - iq) + y1 * c1 + y2 * (2.0 - q))


cdef inline double _cart(double h0, double h1, double y1, double y2, double y3) noexcept nogil:
    """Cartwright's correction for the last interval (y1 = y[-1], y2 = y[-2], y3 = y[-3])."""
    cdef double den = 6.0 * (h1 + h0)
    cdef double alpha = (2.0 * h1 * h1 + 3.0 * h0 * h1) / den if den != 0.0 else 0.0
    den = 6.0 * h0
    cdef double beta = (h1 * h1 + 3.0 * h0 * h1) / den if den != 0.0 else 0.0
    den = 6.0 * h0 * (h0 + h1)
    cdef double eta = h1 * h1 * h1 / den if den != 0.0 else 0.0
    return alpha * y1 + beta * y2 - eta * y3


cdef void _simpson_line(const double *y, Py_ssize_t sy, const double *x, Py_ssize_t sx,
                        Py_ssize_t N, double dx, double *res) noexcept nogil:
    """Simpson along one line (strides sy, sx in elements; x NULL means spacing dx)."""
    cdef Py_ssize_t k, stop
    cdef double s = 0.0, s1 = 0.0, s2 = 0.0, val = 0.0
    cdef double h0, h1
    if N <= 1:
        res[0] = 0.0
        return
    if N == 2:
        if x == NULL:
            res[0] = 0.5 * dx * (y[sy] + y[0])
        else:
            res[0] = 0.5 * (x[sx] - x[0]) * (y[sy] + y[0])
        return
    stop = N - 2 if N % 2 == 1 else N - 3      # panels start at 0, 2, ..., < stop
    if x == NULL:
        # sum of y0 + 4 y1 + y2 over panels
        stop = N - 1 if N % 2 == 1 else N - 2       # index of the last panel's end
        if sy == 1:
            s1 = fc_sum_odd_even(y, stop, &s2)
        else:
            for k in range(1, stop, 2):
                s1 += y[k * sy]
            for k in range(2, stop, 2):
                s2 += y[k * sy]
        s = y[0] + 4.0 * s1 + 2.0 * s2 + y[stop * sy]
        s *= dx / 3.0
        if N % 2 == 0:
            s += _cart(dx, dx, y[(N - 1) * sy], y[(N - 2) * sy], y[(N - 3) * sy])
    elif sy == 1 and sx == 1:
        s = fc_simpson_x(y, x, stop)
        if N % 2 == 0:
            h0 = x[(N - 2) * sx] - x[(N - 3) * sx]
            h1 = x[(N - 1) * sx] - x[(N - 2) * sx]
            s += _cart(h0, h1, y[(N - 1) * sy], y[(N - 2) * sy], y[(N - 3) * sy])
    else:
        for k in range(0, stop, 2):
            h0 = x[(k + 1) * sx] - x[k * sx]
            h1 = x[(k + 2) * sx] - x[(k + 1) * sx]
            s += _simp_pair(h0, h1, y[k * sy], y[(k + 1) * sy], y[(k + 2) * sy])
        if N % 2 == 0:
            h0 = x[(N - 2) * sx] - x[(N - 3) * sx]
            h1 = x[(N - 1) * sx] - x[(N - 2) * sx]
            s += _cart(h0, h1, y[(N - 1) * sy], y[(N - 2) * sy], y[(N - 3) * sy])
    res[0] = s


cdef tuple _x_lines(x):
    """How the sample points are given: (0, None) equal spacing dx; (1, x as (1, N, 1)) one
    grid for every line; (2, x) a grid per line, the shape of y (outer, N, inner)."""
    if x is None:
        return 0, None
    if np.ndim(x) == 1:
        return 1, np.reshape(x, (1, -1, 1))
    return 2, x


def simpson(const double[:, :, ::1] y, x, double dx, double[:, ::1] out):
    """Simpson along axis 1 of y (outer, N, inner); x is None, 1-D (N,) or the shape of y."""
    cdef Py_ssize_t outer = y.shape[0], N = y.shape[1], inner = y.shape[2], o, i
    cdef const double[:, :, ::1] x3
    cdef const double *xp = NULL
    cdef int mode
    mode, xa = _x_lines(x)
    if mode:
        x3 = xa
    if N == 0 or outer == 0 or inner == 0:
        return
    with nogil:
        for o in range(outer):
            for i in range(inner):
                if mode == 0:
                    xp = NULL
                elif mode == 1:
                    xp = &x3[0, 0, 0]
                else:
                    xp = &x3[o, 0, i]
                _simpson_line(&y[o, 0, i], inner, xp, 1 if mode == 1 else inner, N, dx, &out[o, i])


def trapezoid(const double[:, :, ::1] y, x, double dx, double[:, ::1] out):
    cdef Py_ssize_t outer = y.shape[0], N = y.shape[1], inner = y.shape[2]
    cdef const double[::1] x1
    cdef const double[:, :, ::1] x3
    if N == 0 or outer == 0 or inner == 0:
        return
    if x is None:
        with nogil:
            _trap_dx(&y[0, 0, 0], N, inner, outer, dx, &out[0, 0])
    elif np.ndim(x) == 1:
        x1 = x
        with nogil:
            _trap_x(&y[0, 0, 0], &x1[0], True, N, inner, outer, &out[0, 0])
    else:
        x3 = x
        with nogil:
            _trap_x(&y[0, 0, 0], &x3[0, 0, 0], False, N, inner, outer, &out[0, 0])


def cumtrapz(const double[:, :, ::1] y, x, double dx, double[:, :, ::1] out, int off):
    """Cumulative trapezoid along axis 1; results written at out[:, k + off, :]."""
    cdef Py_ssize_t outer = y.shape[0], N = y.shape[1], inner = y.shape[2], o, k, i
    cdef const double[:, :, ::1] x3
    cdef double h, acc
    cdef int mode
    mode, xa = _x_lines(x)
    if mode:
        x3 = xa
    if N <= 1 or outer == 0 or inner == 0:
        return
    with nogil:
        for o in range(outer):
            for i in range(inner):
                acc = 0.0
                for k in range(N - 1):
                    if mode == 0:
                        h = dx
                    elif mode == 1:
                        h = x3[0, k + 1, 0] - x3[0, k, 0]
                    else:
                        h = x3[o, k + 1, i] - x3[o, k, i]
                    acc = acc + h * (y[o, k + 1, i] + y[o, k, i]) / 2.0
                    out[o, k + off, i] = acc


cdef inline double _cs_h1(double x21, double x32, double f1, double f2, double f3) noexcept nogil:
    """Integral over [x1, x2] of the parabola through three points (Cartwright eq. 8)."""
    cdef double x31 = x21 + x32
    cdef double a = x21 / x31
    cdef double b = x21 / x32
    cdef double ab = a * b
    return x21 / 6.0 * ((3.0 - a) * f1 + (3.0 + ab + a) * f2 + (-ab) * f3)


def cumsimpson(const double[:, :, ::1] y, const double[:, :, :] h, bint equal,
                double[:, :, ::1] out, int off):
    """Cumulative Simpson (SciPy's algorithm) along axis 1; h holds the N-1 spacings, broadcast
    over outer/inner when its extent there is 1.  Results at out[:, k + off, :]."""
    cdef Py_ssize_t outer = y.shape[0], N = y.shape[1], inner = y.shape[2], o, k, i
    cdef Py_ssize_t ho, hi
    cdef double acc, sub, d1, d2
    cdef bint bo = False, bi = False
    if N < 3 or outer == 0 or inner == 0:
        return
    with nogil:
        for o in range(outer):
            ho = 0 if bo else o
            for i in range(inner):
                hi = 0 if bi else i
                acc = 0.0
                for k in range(N - 1):
                    # sub-integral over [x_k, x_{k+1}]
                    if k % 2 == 0 and k + 2 <= N - 1:
                        d1 = h[ho, k, hi]
                        d2 = h[ho, k + 1, hi]
                        if equal:
                            sub = d1 / 3.0 * (5.0 * y[o, k, i] / 4.0 + 2.0 * y[o, k + 1, i]
                                              - y[o, k + 2, i] / 4.0)
                        else:
                            sub = _cs_h1(d1, d2, y[o, k, i], y[o, k + 1, i], y[o, k + 2, i])
                    else:
                        # reversed formula on (x_{k+1}, x_k, x_{k-1})
                        d1 = h[ho, k, hi]
                        d2 = h[ho, k - 1, hi]
                        if equal:
                            sub = d1 / 3.0 * (5.0 * y[o, k + 1, i] / 4.0 + 2.0 * y[o, k, i]
                                              - y[o, k - 1, i] / 4.0)
                        else:
                            sub = _cs_h1(d1, d2, y[o, k + 1, i], y[o, k, i], y[o, k - 1, i])
                    acc = acc + sub
                    out[o, k + off, i] = acc


def romb(const double[:, :, ::1] y, double dx, int k, double[:, ::1] out):
    """Romberg on 2**k + 1 samples along axis 1: one pass collects the sums of each level."""
    cdef Py_ssize_t outer = y.shape[0], N = y.shape[1], inner = y.shape[2], o, i, idx
    cdef double S[64]
    cdef double R0[64]
    cdef double R1[64]
    cdef double h, prev
    cdef int lev, jj, ii, tz
    if outer == 0 or inner == 0:
        return
    with nogil:
        for o in range(outer):
            for i in range(inner):
                for lev in range(k + 1):
                    S[lev] = 0.0
                # sample idx (0 < idx < N-1) first appears at level k - (trailing zeros of idx)
                for idx in range(1, N - 1):
                    tz = 0
                    while ((idx >> tz) & 1) == 0:
                        tz += 1
                    S[k - tz] += y[o, idx, i]
                h = (N - 1) * dx
                R0[0] = (y[o, 0, i] + y[o, N - 1, i]) / 2.0 * h
                for ii in range(1, k + 1):
                    R1[0] = 0.5 * (R0[0] + h * S[ii])
                    for jj in range(1, ii + 1):
                        prev = R1[jj - 1]
                        R1[jj] = prev + (prev - R0[jj - 1]) / (ldexp(1.0, 2 * jj) - 1.0)  # 4**jj - 1
                    for jj in range(ii + 1):
                        R0[jj] = R1[jj]
                    h /= 2.0
                out[o, i] = R0[k]
