# cython: language_level=3
"""Kernels of fastcalc.ml (``_src/fc_ml.h``): activations as built-in Functions, softmax rows,
cross-entropy from logits and entropy-type row sums, for float32 and float64.

The def functions here are the thin typed layer; fastcalc.ml validates and documents.
"""
import numpy as np
cimport numpy as cnp
from cpython.ref cimport Py_INCREF

from fastcalc._core cimport Function, OUT_VALUE, OUT_GRAD, register_builtin

cnp.import_array()
from fastcalc._validation import as_floats, as_real

ctypedef fused real:
    float
    double

cdef extern from "fc_ml.h":
    void fc_ml_act_d(int code, Py_ssize_t m, const double *x, double *y, double *g,
                     double a, double b) noexcept nogil
    void fc_ml_act_f(int code, Py_ssize_t m, const float *x, float *y, float *g,
                     float a, float b) noexcept nogil
    void fc_ml_softmax_rows_d(Py_ssize_t rows, Py_ssize_t k, const double *x, double *out,
                              int logmode) noexcept nogil
    void fc_ml_softmax_rows_f(Py_ssize_t rows, Py_ssize_t k, const float *x, float *out,
                              int logmode) noexcept nogil
    void fc_ml_ce_logits_d(Py_ssize_t rows, Py_ssize_t k, const double *x, const double *y,
                           const long long *labels, const double *scale, double *loss,
                           double *grad) noexcept nogil
    void fc_ml_ce_logits_f(Py_ssize_t rows, Py_ssize_t k, const float *x, const float *y,
                           const long long *labels, const float *scale, float *loss,
                           float *grad) noexcept nogil
    Py_ssize_t fc_ml_info_rows_d(Py_ssize_t rows, Py_ssize_t k, const double *p, const double *q,
                                 int mode, double *res, double *sp, double *sq) noexcept nogil
    Py_ssize_t fc_ml_info_rows_f(Py_ssize_t rows, Py_ssize_t k, const float *p, const float *q,
                                 int mode, float *res, float *sp, float *sq) noexcept nogil
    ctypedef void (*fc_batch_fn)(int n, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                                 double *out, Py_ssize_t ldo) noexcept nogil
    void fc_ml_sigmoid_bf(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_sigmoid_bg(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_tanh_bf(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_tanh_bg(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_relu_bf(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_relu_bg(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_leaky_relu_bf(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_leaky_relu_bg(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_elu_bf(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_elu_bg(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_selu_bf(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_selu_bg(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_softplus_bf(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_softplus_bg(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_gelu_bf(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_gelu_bg(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_gelu_tanh_bf(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_gelu_tanh_bg(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_silu_bf(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_silu_bg(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_mish_bf(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_mish_bg(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_hard_sigmoid_bf(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void fc_ml_hard_sigmoid_bg(int, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
    void *fc_ml_sigmoid_lf "(void *)fc_ml_sigmoid_lf"
    void *fc_ml_sigmoid_lg "(void *)fc_ml_sigmoid_lg"
    void *fc_ml_tanh_lf "(void *)fc_ml_tanh_lf"
    void *fc_ml_tanh_lg "(void *)fc_ml_tanh_lg"
    void *fc_ml_relu_lf "(void *)fc_ml_relu_lf"
    void *fc_ml_relu_lg "(void *)fc_ml_relu_lg"
    void *fc_ml_leaky_relu_lf "(void *)fc_ml_leaky_relu_lf"
    void *fc_ml_leaky_relu_lg "(void *)fc_ml_leaky_relu_lg"
    void *fc_ml_elu_lf "(void *)fc_ml_elu_lf"
    void *fc_ml_elu_lg "(void *)fc_ml_elu_lg"
    void *fc_ml_selu_lf "(void *)fc_ml_selu_lf"
    void *fc_ml_selu_lg "(void *)fc_ml_selu_lg"
    void *fc_ml_softplus_lf "(void *)fc_ml_softplus_lf"
    void *fc_ml_softplus_lg "(void *)fc_ml_softplus_lg"
    void *fc_ml_gelu_lf "(void *)fc_ml_gelu_lf"
    void *fc_ml_gelu_lg "(void *)fc_ml_gelu_lg"
    void *fc_ml_gelu_tanh_lf "(void *)fc_ml_gelu_tanh_lf"
    void *fc_ml_gelu_tanh_lg "(void *)fc_ml_gelu_tanh_lg"
    void *fc_ml_silu_lf "(void *)fc_ml_silu_lf"
    void *fc_ml_silu_lg "(void *)fc_ml_silu_lg"
    void *fc_ml_mish_lf "(void *)fc_ml_mish_lf"
    void *fc_ml_mish_lg "(void *)fc_ml_mish_lg"
    void *fc_ml_hard_sigmoid_lf "(void *)fc_ml_hard_sigmoid_lf"
    void *fc_ml_hard_sigmoid_lg "(void *)fc_ml_hard_sigmoid_lg"

    size_t FC_ML_POOL_MIN
    void *fc_ml_block_take(size_t size, size_t *cap)
    void fc_ml_block_give(void *p, size_t cap)
    size_t fc_ml_pool_clear()

cdef const char *SIG_1D = "double (double)"


# ---------------------------------------------------------------------------------------------
# output arrays: large ones from a small pool of blocks (fc_ml.h), so a repeated activation of
# 1e7 numbers does not page-fault its outputs in every call
# ---------------------------------------------------------------------------------------------

cdef class _Block:
    """The memory of one pooled output array (its ``base``); gives the block back when the array
    and every view of it are gone."""
    cdef void *ptr
    cdef size_t cap

    def __dealloc__(self):
        fc_ml_block_give(self.ptr, self.cap)
        self.ptr = NULL


def empty_output(Py_ssize_t n, dtype):
    """An uninitialised C-contiguous 1-D array of ``n`` float32 or float64 numbers (as
    ``np.empty``); blocks of 1 MiB or more come from the pool."""
    cdef int typenum = cnp.NPY_FLOAT32 if dtype == np.float32 else cnp.NPY_FLOAT64
    cdef size_t item = 4 if typenum == cnp.NPY_FLOAT32 else 8
    cdef size_t nbytes = <size_t>n * item
    cdef cnp.npy_intp dims[1]
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if nbytes < FC_ML_POOL_MIN:
        return np.empty(n, dtype=np.float32 if typenum == cnp.NPY_FLOAT32 else np.float64)
    cdef _Block blk = _Block.__new__(_Block)
    blk.ptr = fc_ml_block_take(nbytes, &blk.cap)
    if blk.ptr == NULL:
        raise MemoryError(f"cannot allocate {nbytes} bytes for an output array")
    dims[0] = n
    arr = cnp.PyArray_SimpleNewFromData(1, dims, typenum, blk.ptr)
    Py_INCREF(blk)                      # PyArray_SetBaseObject steals a reference
    cnp.PyArray_SetBaseObject(<cnp.ndarray>arr, blk)
    return arr


def release_pool():
    """Free the kept output blocks; returns the number of bytes released."""
    return fc_ml_pool_clear()


# ---------------------------------------------------------------------------------------------
# the typed layer
# ---------------------------------------------------------------------------------------------

def act(int code, const real[::1] x, real[::1] y, real[::1] g, double a, double b):
    """Activation ``code`` of x into y (value) and g (derivative); an empty y or g is skipped."""
    cdef Py_ssize_t m = x.shape[0]
    if m == 0:
        return
    cdef real *py = &y[0] if y.shape[0] else NULL
    cdef real *pg = &g[0] if g.shape[0] else NULL
    with nogil:
        if real is double:
            fc_ml_act_d(code, m, &x[0], py, pg, a, b)
        else:
            fc_ml_act_f(code, m, &x[0], py, pg, <float>a, <float>b)


def softmax_rows(const real[:, ::1] x, real[:, ::1] out, bint log):
    """softmax (or log_softmax with ``log``) of each row of x into out."""
    cdef Py_ssize_t rows = x.shape[0], k = x.shape[1]
    if rows == 0 or k == 0:
        return
    with nogil:
        if real is double:
            fc_ml_softmax_rows_d(rows, k, &x[0, 0], &out[0, 0], log)
        else:
            fc_ml_softmax_rows_f(rows, k, &x[0, 0], &out[0, 0], log)


def ce_logits(const real[:, ::1] x, const real[:, ::1] y, const long long[::1] labels,
              const real[::1] scale, real[::1] loss, real[:, ::1] grad):
    """Cross-entropy of logit rows against target rows y, or (y empty) integer labels; the gradient
    (grad non-empty) is scaled per row by ``scale`` (empty: 1)."""
    cdef Py_ssize_t rows = x.shape[0], k = x.shape[1]
    if rows == 0 or k == 0:
        return
    cdef const real *py = &y[0, 0] if y.shape[0] else NULL
    cdef const long long *pl = &labels[0] if labels.shape[0] else NULL
    cdef const real *ps = &scale[0] if scale.shape[0] else NULL
    cdef real *pg = &grad[0, 0] if grad.shape[0] else NULL
    with nogil:
        if real is double:
            fc_ml_ce_logits_d(rows, k, &x[0, 0], py, pl, ps, &loss[0], pg)
        else:
            fc_ml_ce_logits_f(rows, k, &x[0, 0], py, pl, ps, &loss[0], pg)


def info_rows(const real[:, ::1] p, const real[:, ::1] q, int mode, real[::1] res, real[::1] sp,
              real[::1] sq):
    """Row sums: mode 0 sum p log p, 1 sum p log(p/q), 2 sum p log q (0 log 0 = 0), row sums of
    p (and q); returns the number of negative or NaN entries."""
    cdef Py_ssize_t rows = p.shape[0], k = p.shape[1], bad = 0
    if rows == 0:
        return 0
    cdef const real *pq = &q[0, 0] if (mode != 0 and q.shape[0]) else NULL
    cdef real *psq = &sq[0] if sq.shape[0] else NULL
    if mode != 0 and (pq == NULL or psq == NULL):
        raise ValueError("info_rows: q and sq are needed for modes 1 and 2")
    if k == 0:
        for i in range(rows):
            res[i] = 0
            sp[i] = 0
            if psq != NULL:
                psq[i] = 0
        return 0
    with nogil:
        if real is double:
            bad = fc_ml_info_rows_d(rows, k, &p[0, 0], pq, mode, &res[0], &sp[0], psq)
        else:
            bad = fc_ml_info_rows_f(rows, k, &p[0, 0], pq, mode, &res[0], &sp[0], psq)
    return bad


# ---------------------------------------------------------------------------------------------
# activations as built-in Functions
# ---------------------------------------------------------------------------------------------

#: name -> (code of fc_ml.h, default parameter, parameter name or None); the defaults must match
#: the FC_ML_BUILTIN lines of fc_ml.h (the built-in batch entries use them)
ACTIVATIONS = {
    "sigmoid": (0, 0.0, None),
    "tanh": (1, 0.0, None),
    "relu": (2, 0.0, None),
    "leaky_relu": (3, 0.01, "alpha"),
    "elu": (4, 1.0, "alpha"),
    "selu": (5, 0.0, None),
    "softplus": (6, 1.0, "beta"),
    "gelu": (7, 0.0, None),
    "gelu_tanh": (8, 0.0, None),
    "silu": (9, 0.0, None),
    "mish": (10, 0.0, None),
    "hard_sigmoid": (11, 0.0, None),
}

DOCS = {
    "sigmoid": "1 / (1 + exp(-x)); derivative s (1 - s).  Overflow-free: sigmoid(-800) = 0.",
    "tanh": "tanh(x); derivative 1 - tanh(x)**2.",
    "relu": "max(x, 0); derivative 1 for x > 0 and 0 for x <= 0 (the subgradient at 0 is 0, as "
            "PyTorch).",
    "leaky_relu": "x for x > 0, alpha x otherwise (alpha=0.01); derivative alpha at 0 (as PyTorch).",
    "elu": "x for x > 0, alpha (exp(x) - 1) otherwise (alpha=1); derivative alpha exp(x) for x <= 0.",
    "selu": "scale * elu(x, alpha) with PyTorch's alpha = 1.6732632423543772, scale = "
            "1.0507009873554805.",
    "softplus": "log(1 + exp(beta x)) / beta (beta=1), exact for every x (PyTorch switches to x "
                "for beta x > 20, a difference below 2e-9 / beta); derivative sigmoid(beta x).",
    "gelu": "x Phi(x) with the normal CDF Phi (the exact erf form, PyTorch's approximate='none').",
    "gelu_tanh": "x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3))) / 2 (PyTorch's "
                 "approximate='tanh').",
    "silu": "x sigmoid(x) (swish with beta=1).",
    "mish": "x tanh(softplus(x)).",
    "hard_sigmoid": "clip(x / 6 + 1/2, 0, 1) (PyTorch's hardsigmoid); derivative 1/6 on (-3, 3).",
}


cdef class Activation(Function):
    """An elementwise activation computed in C: ``f(x)``, ``f.grad(x)`` and ``f.value_and_grad(x)``.

    Any shape; float32 input gives float32 results (no upcast), other real input float64; ``out=``
    takes an array of the same shape and dtype.  Parameterised activations take their parameter as
    a keyword (``leaky_relu(x, alpha=0.2)``).  The object is also a fastcalc built-in
    (:class:`fastcalc.Function`, ``.lowlevel``) with the default parameter, so ``derivative``,
    ``quad`` and ``minimize`` evaluate it in C without the GIL.
    """
    cdef readonly int code
    cdef readonly double default_param
    cdef readonly object param_name
    cdef readonly bint is_derivative

    def _params(self, kw):
        if not kw:
            return self.default_param
        if self.param_name is None or set(kw) != {self.param_name}:
            allowed = f"'{self.param_name}'" if self.param_name else "no parameters"
            raise TypeError(f"{self.name} takes {allowed}, got {', '.join(map(repr, kw))}")
        name = self.param_name
        if name == "beta":
            return as_real(kw[name], name, low=0.0, low_open=True)
        return as_real(kw[name], name)

    def _run(self, x, out, want_value, want_grad, kw):
        p = self._params(kw)
        scalar = np.ndim(x) == 0
        arr = as_floats(x, "x")
        flat = np.ascontiguousarray(arr).reshape(-1)
        empty = np.empty(0, dtype=arr.dtype)
        res = []
        for want, o, oname in ((want_value, out[0], "out"), (want_grad, out[1], "grad_out")):
            if not want:
                res.append(None)
                continue
            direct = False
            if o is not None:
                if not isinstance(o, np.ndarray) or o.shape != arr.shape or o.dtype != arr.dtype:
                    raise ValueError(f"{oname} must be an ndarray of shape {arr.shape} and dtype "
                                     f"{arr.dtype}, got "
                                     f"{getattr(o, 'shape', type(o).__name__)} "
                                     f"{getattr(o, 'dtype', '')}".rstrip())
                direct = o.flags.c_contiguous and o.flags.writeable
            res.append((o, direct, o.reshape(-1) if direct else empty_output(flat.shape[0], arr.dtype)))
        yv = res[0][2] if res[0] is not None else empty
        gv = res[1][2] if res[1] is not None else empty
        act(self.code, flat, yv, gv, p, 0.0)
        outs = []
        for r in res:
            if r is None:
                continue
            o, direct, buf = r
            if o is None:
                v = buf.reshape(arr.shape)
                outs.append(v[()] if scalar else v)
            else:
                if not direct:
                    o[...] = buf.reshape(arr.shape)
                outs.append(o)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def __call__(self, x, out=None, **params):
        """Value (or, for the ``.grad`` object, the derivative) at ``x``; ``out`` as in NumPy."""
        if self.is_derivative:
            return self._run(x, (None, out), False, True, params)
        return self._run(x, (out, None), True, False, params)

    def value_and_grad(self, x, out=None, grad_out=None, **params):
        """``(f(x), f'(x))`` computed in one pass."""
        if self.is_derivative:
            raise TypeError(f"{self.name} is a derivative; call value_and_grad on the activation")
        return self._run(x, (out, grad_out), True, True, params)


cdef Activation _make(str name, int code, double param, object pname, bint deriv,
                      fc_batch_fn batch, void *ll):
    cdef Activation f = Activation.__new__(Activation)
    f.name = ("ml." + name) + (".grad" if deriv else "")
    f.batch = batch
    f.ll_ptr = ll
    f.ll_sig = SIG_1D
    f.ndim = 1
    f.min_ndim = 1
    f.output = OUT_GRAD if deriv else OUT_VALUE
    f._minima = None
    f.doc = DOCS[name]
    f.code = code
    f.default_param = param
    f.param_name = pname
    f.is_derivative = deriv
    return f


cdef object _pair(str name, fc_batch_fn bf, void *lf, fc_batch_fn bg, void *lg):
    code, param, pname = ACTIVATIONS[name]
    v = _make(name, code, param, pname, False, bf, lf)
    g = _make(name, code, param, pname, True, bg, lg)
    register_builtin(v, g, None)
    return v


def _register():
    return {
        "sigmoid": _pair("sigmoid", fc_ml_sigmoid_bf, fc_ml_sigmoid_lf, fc_ml_sigmoid_bg, fc_ml_sigmoid_lg),
        "tanh": _pair("tanh", fc_ml_tanh_bf, fc_ml_tanh_lf, fc_ml_tanh_bg, fc_ml_tanh_lg),
        "relu": _pair("relu", fc_ml_relu_bf, fc_ml_relu_lf, fc_ml_relu_bg, fc_ml_relu_lg),
        "leaky_relu": _pair("leaky_relu", fc_ml_leaky_relu_bf, fc_ml_leaky_relu_lf, fc_ml_leaky_relu_bg, fc_ml_leaky_relu_lg),
        "elu": _pair("elu", fc_ml_elu_bf, fc_ml_elu_lf, fc_ml_elu_bg, fc_ml_elu_lg),
        "selu": _pair("selu", fc_ml_selu_bf, fc_ml_selu_lf, fc_ml_selu_bg, fc_ml_selu_lg),
        "softplus": _pair("softplus", fc_ml_softplus_bf, fc_ml_softplus_lf, fc_ml_softplus_bg, fc_ml_softplus_lg),
        "gelu": _pair("gelu", fc_ml_gelu_bf, fc_ml_gelu_lf, fc_ml_gelu_bg, fc_ml_gelu_lg),
        "gelu_tanh": _pair("gelu_tanh", fc_ml_gelu_tanh_bf, fc_ml_gelu_tanh_lf, fc_ml_gelu_tanh_bg, fc_ml_gelu_tanh_lg),
        "silu": _pair("silu", fc_ml_silu_bf, fc_ml_silu_lf, fc_ml_silu_bg, fc_ml_silu_lg),
        "mish": _pair("mish", fc_ml_mish_bf, fc_ml_mish_lf, fc_ml_mish_bg, fc_ml_mish_lg),
        "hard_sigmoid": _pair("hard_sigmoid", fc_ml_hard_sigmoid_bf, fc_ml_hard_sigmoid_lf, fc_ml_hard_sigmoid_bg, fc_ml_hard_sigmoid_lg),
    }


#: name -> Activation (value Function; ``.grad`` is the derivative Function)
BUILTINS = _register()
