# Part of fastcalc._core (included by _core.pyx, not a module of its own; no imports here):
# a low-level callable's evaluator -- its signature, pointers, args and output-size checks --
# and the adapter's evaluator cache of ``call_evaluator`` (see the design note in _core.pyx).


def _normalize_signature(s):
    """A C signature with SciPy's spacing (for the accepted-signature lookup)."""
    return " ".join(str(s).replace("*", " * ").replace(",", " , ").replace("(", " ( ")
                    .replace(")", " ) ").split()).replace(" ,", ",").replace("( ", "(") \
        .replace(" )", ")").replace("* )", "*)")


_ACCEPTED_SIGS = ", ".join(repr(s) for s in list(SIGNATURES)[:5])
_NORMALIZED = {_normalize_signature(k): v for k, v in SIGNATURES.items()}


cdef int _setup_lowlevel(Evaluator ev, object cap, object keep, tuple args) except -1:
    """Fill ``ev`` for a low-level callable (its capsule ``cap``; ``keep`` keeps it alive):
    signature, pointers, args, and the output-size checks."""
    cdef int i
    cdef int n = ev.n
    cdef int nout = ev.nout
    raw_sig = PyCapsule_GetName(cap)
    if raw_sig == NULL:
        cap = keep = None           # drop temporaries before raising: their destructors ask too
        raise ValueError("invalid callable given: a PyCapsule without a name (the name must be "
                         f"its C signature, one of {_ACCEPTED_SIGS})")
    cdef int code = fc_sig_code(raw_sig)        # SciPy's exact spellings: no string object
    if code < 0:
        sig_text = (<bytes>raw_sig).decode()
        code_obj = _SIG_CACHE.get(sig_text)
        if code_obj is None:
            code_obj = _NORMALIZED.get(_normalize_signature(sig_text))
            if code_obj is None:
                cap = keep = None
                raise TypeError(f"unsupported low-level signature {sig_text!r}; accepted "
                                f"signatures: {_ACCEPTED_SIGS}")
            if len(_SIG_CACHE) < 64:
                _SIG_CACHE[sig_text] = code_obj     # strings only: no user object is kept alive
        code = code_obj
    ev.kind = KIND_LOWLEVEL
    ev.sig = code
    ev.fptr = PyCapsule_GetPointer(cap, raw_sig)
    ev.user_data = PyCapsule_GetContext(cap)
    ev.nogil = ev.releases_gil = ev.is_compiled = True
    ev.keep = keep
    if (code == SIG_D or code == SIG_DV) and n != 1:
        raise TypeError(f"low-level signature {(<bytes>raw_sig).decode()!r} takes one variable, "
                        f"but this needs {n}; use 'double (int, double *)'")
    if code != SIG_VEC and nout != 1:
        raise TypeError(f"a function with {nout} outputs needs the low-level signature "
                        "'void (int, const double *, int, double *, void *)'")
    if code == SIG_VEC and ev.scalar_out:
        raise TypeError("the low-level callable has the vector-output signature "
                        f"{(<bytes>raw_sig).decode()!r}, but a scalar function (one value per "
                        "point) is needed here; use 'double (int, double *)' or 'double (double)'")
    _lowlevel_args(ev, args)
    if code == SIG_VEC:
        _check_builtin_vec(<size_t>ev.fptr, n + ev.nargs, nout)
    return 0


cdef int _lowlevel_args(Evaluator ev, tuple args) except -1:
    """The args of a low-level callable, converted once to doubles (``float(a)``; plain floats
    directly): appended to x, or as ``user_data`` of ``double (double, void *)``."""
    cdef Py_ssize_t i, na = PyTuple_GET_SIZE(args)
    cdef object t
    if na == 0:
        return 0
    if ev.argv == NULL:
        ev.argv = <double *>malloc(na * sizeof(double))
        if ev.argv == NULL:
            raise MemoryError()
    for i in range(na):
        t = <object>PyTuple_GET_ITEM(args, i)
        ev.argv[i] = PyFloat_AS_DOUBLE(t) if PyFloat_CheckExact(t) else float(t)
    if ev.sig == SIG_D:
        raise TypeError("args cannot reach a 'double (double)' low-level callable; use "
                        "'double (int, double *)' (args are appended to x) or "
                        "'double (double, void *)'")
    if ev.sig == SIG_DV and ev.user_data != NULL:
        raise ValueError("args given, but the LowLevelCallable already has user_data")
    if ev.sig == SIG_DV:
        ev.user_data = ev.argv      # user_data points to the args as doubles
    else:
        ev.nargs = <int>na          # appended to x, as scipy.integrate.nquad does
    return 0


# THE evaluator cache (see the design note): the evaluators last made by ``call_evaluator`` for
# scipy.LowLevelCallable objects with a scalar signature.  A slot remembers the object's id and
# what its capsule held -- function pointer, signature (its pointer and its text) and context --
# and holds NO reference to the object (nor to its user_data): a hit needs the same id and the
# same capsule contents, so an object freed and another made at its address is either the same
# function with the same user_data (and evaluates exactly as a fresh evaluator would) or a miss.
# A slot's evaluator is handed out only when nobody else holds it; its count, Ctrl-C tally and
# args are reset for the call.
cdef enum:
    LL_SLOTS = 8
    LL_NAME = 64                        # longer signatures are not cached

cdef struct _LLSlot:
    Py_ssize_t key                      # id() of the LowLevelCallable (0: empty)
    const char *name                    # its capsule's name (signature) ...
    char text[LL_NAME]                  # ... and the text it pointed to
    void *ctx                           # its capsule's context (user_data)
    void *fptr                          # its capsule's pointer

cdef _LLSlot _ll_slot[LL_SLOTS]
cdef PyObject *_ll_ev[LL_SLOTS]         # owned: the slot's Evaluator (keep None, args ())
cdef int _ll_next = 0


cdef int _lowlevel_slot(object f, const char **name, void **ctx, void **fptr) except -2:
    """The slot of the LowLevelCallable ``f`` whose recorded capsule contents match its capsule
    now (-1: none); ``name``/``ctx``/``fptr``: what the capsule holds (name NULL: not cacheable)."""
    cdef int i
    cap = <object>PyTuple_GET_ITEM(f, 0)
    name[0] = NULL
    if not PyCapsule_CheckExact(cap):
        return -1
    name[0] = PyCapsule_GetName(cap)
    if name[0] == NULL or strlen(name[0]) >= LL_NAME:
        name[0] = NULL
        return -1
    ctx[0] = PyCapsule_GetContext(cap)
    fptr[0] = PyCapsule_GetPointer(cap, name[0])
    if fptr[0] == NULL:
        PyErr_Clear()
        name[0] = NULL
        return -1
    for i in range(LL_SLOTS):
        if (_ll_slot[i].key == <Py_ssize_t><PyObject *>f and _ll_slot[i].name == name[0]
                and _ll_slot[i].ctx == ctx[0] and _ll_slot[i].fptr == fptr[0]
                and strcmp(_ll_slot[i].text, name[0]) == 0):
            return i
    return -1


cdef Evaluator call_evaluator(object f, int n=1, int nout=1, bint scalar_x=False,
                              bint scalar_out=True, bint vectorized=False, tuple args=()):
    """``as_evaluator`` for an entry that uses the evaluator only while it runs and holds ``f``
    itself meanwhile (see _core.pxd): a LowLevelCallable's evaluator may come from the cache."""
    global _ll_next
    cdef const char *name
    cdef void *ctx
    cdef void *fptr
    cdef Evaluator ev
    cdef int i
    if type(f) is not LowLevelCallable:
        return as_evaluator(f, n, nout, scalar_x, scalar_out, vectorized, args)
    i = _lowlevel_slot(f, &name, &ctx, &fptr)
    if i >= 0 and borrowed_refcount(_ll_ev[i]) == 1:
        ev = <Evaluator>_ll_ev[i]
        if (ev.n == n and ev.nout == nout and ev.scalar_x == scalar_x
                and ev.scalar_out == scalar_out):
            if PyThread_get_thread_ident() == _signal_thread:
                fc_flag_set(&_interrupted, 0)       # as as_evaluator: a new computation
            ev.nfev = 0
            ev.since_check = 0
            if ev.argv != NULL and (ev.sig == SIG_DV or ev.nargs != PyTuple_GET_SIZE(args)):
                free(ev.argv)           # (the same number of appended args reuses the buffer)
                ev.argv = NULL
            ev.nargs = 0
            ev.user_data = ctx
            _lowlevel_args(ev, args)
            return ev
    ev = as_evaluator(f, n, nout, scalar_x, scalar_out, vectorized, args)
    if name == NULL or ev.sig == SIG_VEC:
        return ev
    if i < 0:
        i = _ll_next
        _ll_next = (i + 1) % LL_SLOTS
    # the slot takes this evaluator, without the references to the user's objects
    ev.keep = None
    ev.args = ()
    cdef PyObject *old = _ll_ev[i]
    Py_INCREF(ev)
    _ll_ev[i] = <PyObject *>ev
    _ll_slot[i].key = <Py_ssize_t><PyObject *>f
    _ll_slot[i].name = name
    strcpy(_ll_slot[i].text, name)
    _ll_slot[i].ctx = ctx
    _ll_slot[i].fptr = fptr
    Py_XDECREF(old)             # after the slot is consistent (it holds no user object)
    return ev


def _lowlevel_cache_clear():
    """Empty the evaluator cache (for tests)."""
    cdef int i
    cdef PyObject *e
    for i in range(LL_SLOTS):
        e = _ll_ev[i]
        _ll_ev[i] = NULL
        _ll_slot[i].key = 0
        _ll_slot[i].name = NULL
        Py_XDECREF(e)


def _lowlevel_cache_size():
    """Slots of the evaluator cache in use (for tests)."""
    return sum(1 for i in range(LL_SLOTS) if _ll_ev[i] != NULL)


cdef int _check_builtin_vec(size_t fptr, int nt, int nout) except -1:
    """A built-in's vector-output .lowlevel writes as many values as its gradient (n) or Hessian
    (n*n) has, whatever it is told: refuse a call that declares another output size."""
    bf = _VEC_LOWLEVEL.get(fptr)
    if bf is None:
        return 0
    cdef Function g = <Function>bf
    g.check_ndim(nt)
    if g.nout(nt) != nout:
        raise ValueError(f"{g.name}.lowlevel writes {g.nout(nt)} values for a point of {nt} "
                         f"variables, but {nout} output(s) per point are expected here")
    return 0


_SIG_CACHE = {}
