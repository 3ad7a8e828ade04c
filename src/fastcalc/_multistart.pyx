# cython: language_level=3
"""Blocks of starts of one multi-start run (fastcalc._descent.Descent) in C, on OpenMP threads.

A run of k starts is cut into blocks of ``block`` starts; each block runs all its iterations
before the next, on a slot (a Descent of ``block`` columns whose buffers are reused, block after
block), so the state one step touches stays in cache and the cost grows linearly with k.  With
several slots the blocks go to that many threads (the GIL released: compiled callables only);
the blocks are independent, so the results do not depend on the number of threads.  Every
evaluation goes through the slots' shared evaluators (fastcalc._core: atomic nfev, Ctrl-C).
"""
from cpython.ref cimport PyObject
from cython.parallel cimport prange, parallel, threadid
from libc.math cimport INFINITY
from libc.stdlib cimport malloc, free
from libc.string cimport memset

import numpy as np

from fastcalc._descent cimport Descent
from fastcalc._optim cimport LS_WOLFE


cdef int _load(Descent d, const double *x0, Py_ssize_t ldx0, Py_ssize_t col0,
               Py_ssize_t k) noexcept nogil:
    """Start slot d afresh on the k <= K starts x0[r*ldx0 + col0 + j] (outputs from column col0
    on): the buffers are reused, nothing is allocated."""
    cdef int r
    cdef Py_ssize_t j
    d.na = k
    d.col0 = col0
    for r in range(d.n):
        for j in range(k):
            d.X[r, j] = d.BX[r, j] = x0[r * ldx0 + col0 + j]
            d.V[r, j] = d.S[r, j] = 0.0
    for j in range(k):
        d.BF[j] = d.FPREV[j] = INFINITY
        d.perm[j] = j
        d.fknown[j] = 0
    if d.line_search:
        memset(&d.lsfail[0], 0, k)
    if d.line_search == LS_WOLFE:
        memset(&d.final[0], 0, k)
    d.pw1 = d.pw2 = 1.0
    d.pw_it = -1
    return 0


cdef int _bind(Descent d, Descent main) except -1:
    """Slot d writes its results into main's output arrays (one column per start of the run)."""
    d.xo, d.go, d.fo, d.nit, d.status = main.xo, main.go, main.fo, main.nit, main.status
    d.XO, d.GO, d.FO, d.NIT, d.STATUS = main.XO, main.GO, main.FO, main.NIT, main.STATUS
    d.XC, d.cand = main.XC, main.cand
    return 0


cdef int _run_block(PyObject *slot, const double *x0, Py_ssize_t ldx0, Py_ssize_t b,
                    Py_ssize_t block) except -1 nogil:
    """Block b of the run on one slot (kept alive by run_blocks' list)."""
    cdef Py_ssize_t c0 = b * block
    cdef Py_ssize_t k = ldx0 - c0 if ldx0 - c0 < block else block
    _load(<Descent>slot, x0, ldx0, c0, k)
    return (<Descent>slot).run()


def run_blocks(list slots, x0, Py_ssize_t block):
    """Run the starts x0 (n, k) in blocks of ``block`` starts on len(slots) threads (slot t, a
    Descent of ``block`` columns, on thread t; blocks handed out dynamically, as they finish).
    Several slots need compiled callables; Python callables run on one.  Returns slots[0] holding
    every start's results, with njev and nhev summed over the slots."""
    cdef const double[:, ::1] xv = np.ascontiguousarray(x0, dtype=np.float64)
    cdef Py_ssize_t K = xv.shape[1], nb = (K + block - 1) // block, b
    cdef int w = len(slots), t
    cdef Descent s0 = slots[0], d
    if w < 1 or block < 1 or xv.shape[0] != s0.n or K < 1:
        raise ValueError("run_blocks: bad slots, block size or starts")
    for d in slots:
        if d.K != block or d.fev is not s0.fev or d.gev is not s0.gev or d.hev is not s0.hev:
            raise ValueError("run_blocks: slots must share evaluators and have `block` columns")
        if d.history or d.callback is not None or (w > 1 and not d.nogil_ok()):
            raise ValueError("run_blocks: no history or callback; several slots need compiled "
                             "callables")
    s0.alloc_outputs(K)
    for d in slots[1:]:
        _bind(d, s0)
    cdef PyObject **p = <PyObject **>malloc(w * sizeof(PyObject *))
    if p == NULL:
        raise MemoryError()
    for t in range(w):
        p[t] = <PyObject *>slots[t]
    try:
        if w > 1:
            with nogil, parallel(num_threads=w):
                for b in prange(nb, schedule="dynamic"):
                    _run_block(p[threadid()], &xv[0, 0], K, b, block)
        elif s0.nogil_ok():
            with nogil:
                for b in range(nb):
                    _run_block(p[0], &xv[0, 0], K, b, block)
        else:
            for b in range(nb):
                _run_block(p[0], &xv[0, 0], K, b, block)
    finally:
        free(p)
    for d in slots[1:]:
        s0.njev += d.njev
        s0.nhev += d.nhev
        s0.iterations = max(s0.iterations, d.iterations)
    return s0.finalize()
