"""Dask arrays in, dask arrays out: the one mechanism behind every batch API's Dask support.

A public batch routine starts with a two-line hook::

    if dask_input(x):
        return dispatch(gradient, locals())

:func:`dask_input` costs a dictionary lookup when Dask was never imported.  :func:`dispatch`
builds a graph that calls the same public routine on each block of the point axes
(``map_blocks``; the variables axis, axis 0, is kept whole) and returns dask arrays.

How the user's callables reach the workers (see ``docs/dask.md``):

* built-in :mod:`fastcalc.functions` pickle by name;
* a numba ``cfunc`` travels as its Python function and signature and is compiled again on the
  worker (once per process); :func:`fastcalc.jit` results pickle the same way;
* the ``.lowlevel`` of a built-in travels by the built-in's name;
* any other :class:`scipy.LowLevelCallable`, ctypes/cffi pointer or capsule is an address in this
  process: a ``TypeError`` says what to pass instead;
* Python callables travel by cloudpickle; one that cannot be pickled is a ``TypeError`` naming it.

Before building the graph, the routine runs in this process on the first point (or element), so
bad arguments raise here, with the routine's own messages, and the output shape is known.
"""
import ctypes
import hashlib
import operator
import sys

import numpy as np
from scipy.optimize import OptimizeResult

__all__ = ["dask_input", "dispatch", "LazyResult", "shippable", "DASK_HINT"]

DASK_HINT = "pip install 'fastcalc[dask]'"

#: per routine: the kind of batch, the names of its callables, of its point array(s)
_SPECS = {
    "derivative": ("points", ("f",), "x", False),
    "gradient": ("points", ("f",), "x", True),
    "jacobian": ("points", ("f",), "x", True),
    "hessian": ("points", ("f",), "x", True),
    "quad": ("quad", ("func",), None, False),
    "multistart": ("starts", ("fun", "jac", "hess"), "x0", True),
}


def dask_input(*objs):
    """True when one of ``objs`` (or an entry of a tuple/list among them) is a dask array."""
    # dask.array.core defines the class; before that no dask array can exist (and a module being
    # imported by another thread, as on a worker, may not have the attribute yet)
    arr = getattr(sys.modules.get("dask.array.core"), "Array", None)
    if arr is None:
        return False
    for o in objs:
        if isinstance(o, arr):
            return True
        if type(o) in (tuple, list) and any(isinstance(v, arr) for v in o):
            return True
    return False


def _dask():
    try:
        import dask
        import dask.array as da
    except ImportError as exc:      # pragma: no cover - dask_input() is False without dask
        raise ImportError(f"dask arrays need dask: {DASK_HINT}") from exc
    return dask, da


# ---------------------------------------------------------------------------------------------
# Callables on their way to a worker
# ---------------------------------------------------------------------------------------------

_REBUILT = {}          # (kind, key) -> callable rebuilt in this process (workers compile once)


def _rebuild(kind, payload, key):
    """The callable a :class:`_Shipped` stands for, made again in this (worker) process."""
    hit = _REBUILT.get((kind, key))
    if hit is not None:
        return _Shipped(hit, kind, payload, key)
    if kind == "cfunc":
        import numba
        pyfunc, sig = payload
        obj = numba.cfunc(sig, nopython=True)(pyfunc)
    else:                           # "builtin-lowlevel"
        from fastcalc.functions import ALL
        obj = ALL[payload].lowlevel
    if len(_REBUILT) > 64:
        _REBUILT.clear()
    _REBUILT[(kind, key)] = obj
    return _Shipped(obj, kind, payload, key)


class _Shipped:
    """A compiled callable that pickles as a recipe (never as an address)."""

    def __init__(self, obj, kind, payload, key):
        self.obj, self.kind, self.payload, self.key = obj, kind, payload, key

    def __reduce__(self):
        return _rebuild, (self.kind, self.payload, self.key)


def _capsule_pointer(capsule):
    api = ctypes.pythonapi
    api.PyCapsule_GetName.restype = ctypes.c_char_p
    api.PyCapsule_GetName.argtypes = [ctypes.py_object]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return api.PyCapsule_GetPointer(capsule, api.PyCapsule_GetName(capsule))


def _builtin_lowlevel_name(llc):
    from fastcalc.functions import ALL
    try:
        ptr = _capsule_pointer(tuple.__getitem__(llc, 0))
    except (TypeError, ValueError, IndexError):
        return None
    for name, fn in ALL.items():
        try:
            if _capsule_pointer(tuple.__getitem__(fn.lowlevel, 0)) == ptr:
                return name
        except (AttributeError, TypeError, ValueError):
            continue
    return None


def _cloudpickle(obj):
    try:
        import cloudpickle
    except ImportError:             # pragma: no cover - a dependency of dask
        import pickle as cloudpickle
    return cloudpickle.dumps(obj)


def shippable(f, name="f"):
    """``f`` in a form that pickles for a distributed worker, or a ``TypeError`` saying why not."""
    from fastcalc._core import Function, is_compiled
    if f is None or isinstance(f, (bool, str, Function)):
        return f
    numba_cfunc = type(f).__name__ == "CFunc" and hasattr(f, "_pyfunc") and hasattr(f, "_sig")
    if numba_cfunc:
        payload = (f._pyfunc, f._sig)
        return _Shipped(f, "cfunc", payload, hashlib.sha256(_cloudpickle(payload)).hexdigest())
    if is_compiled(f):
        try:                        # fastcalc.jit results pickle as their recipe
            _cloudpickle(f)
            return f
        except Exception:
            pass
        builtin = _builtin_lowlevel_name(f) if isinstance(f, tuple) else None
        if builtin is not None:
            return _Shipped(f, "builtin-lowlevel", builtin, builtin)
        raise TypeError(
            f"{name}={f!r} is a compiled function known only by its address in this process, "
            "which cannot be sent to a Dask worker; pass a numba cfunc (re-compiled on each "
            "worker), a fastcalc.jit(...) function, or a built-in from fastcalc.functions")
    try:
        _cloudpickle(f)
    except Exception as exc:
        raise TypeError(f"{name}={f!r} cannot be pickled (cloudpickle: {type(exc).__name__}: "
                        f"{exc}), so it cannot be sent to a Dask worker; make it a function that "
                        "does not hold locks, files, sockets or C pointers") from None
    return f


def _unship(v):
    return v.obj if isinstance(v, _Shipped) else v


# ---------------------------------------------------------------------------------------------
# Results whose fields are lazy
# ---------------------------------------------------------------------------------------------

class LazyResult(OptimizeResult):
    """A result object whose fields are dask arrays (or ``dask.delayed`` values).

    ``.compute()`` computes every field in one pass (the blocks are run once) and returns the
    routine's usual result class (:class:`~fastcalc.DifferentiationResult`,
    :class:`scipy.optimize.OptimizeResult`) with NumPy values, equal to the in-process call.
    """

    def compute(self, **kwargs):
        dask, _ = _dask()
        keys = list(self.keys())
        values = dask.compute(*[self[k] for k in keys], **kwargs)
        cls = self.__dict__.get("_result_class", OptimizeResult)
        return cls(**dict(zip(keys, values)))


def _lazy(result_class, fields):
    out = LazyResult(fields)
    out.__dict__["_result_class"] = result_class
    return out


# ---------------------------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------------------------

def _call(fn, params):
    return fn(**{k: _unship(v) for k, v in params.items()})


def _as_cell(obj, ndim):
    cell = np.empty((1,) * ndim, dtype=object)
    cell[(0,) * ndim] = obj
    return cell


def _without(params, name):
    """params without the dask array ``name`` (a dask array among a task's arguments would be
    computed whole and sent to every task)."""
    return {k: v for k, v in params.items() if k != name}


def _point_block(block, fn, params, xname, ndim_out, whole):
    """The routine on one block of points (plain output: the array itself)."""
    out = _call(fn, {**params, xname: block})
    return _as_cell(out, ndim_out) if whole else np.asarray(out)


def _field(cell, key, ndim_cell, count):
    v = np.asarray(cell[(0,) * ndim_cell][key])
    return v.reshape((1,) * ndim_cell) if count else v   # a count: one per block, summed


def _rechunk_hint(x, name):
    raise ValueError(f"{name} is a dask array chunked along axis 0 (the variables axis, "
                     f"chunks {x.chunks[0]}); every block needs all variables of its points: "
                     f"rechunk it first, e.g. {name}.rechunk({{0: -1}})")


def _first(x, npt, vector):
    """The first point of x (as NumPy), keeping every axis (length 1)."""
    idx = ((slice(None),) if vector else ()) + (slice(0, 1),) * npt
    return np.asarray(x[idx].compute())


def _fields_from_cells(cells, probe, npt, out_chunks):
    """Dask arrays of the fields of the per-block result objects in ``cells``."""
    fields = {}
    for key, val in probe.items():
        if isinstance(val, np.ndarray) and val.ndim >= npt and val.shape[val.ndim - npt:] == (1,) * npt:
            prefix = val.shape[:val.ndim - npt]
            fields[key] = cells.map_blocks(
                _field, key, npt, False, new_axis=list(range(len(prefix))) or None,
                chunks=tuple((s,) for s in prefix) + out_chunks, dtype=val.dtype,
                meta=np.empty((0,) * (len(prefix) + npt), dtype=val.dtype))
        elif isinstance(val, (int, np.integer)) and not isinstance(val, bool):
            fields[key] = cells.map_blocks(_field, key, npt, True, dtype=np.asarray(val).dtype,
                                           meta=np.empty((0,) * npt)).sum()
    return fields


def _points(fn, params, xname, vector):
    dask, da = _dask()
    x = params[xname]
    if vector and x.ndim >= 1 and len(x.chunks[0]) > 1:
        _rechunk_hint(x, xname)
    if x.ndim == 0 or x.size == 0 or (vector and x.ndim == 1):
        # one point (or none): nothing to spread; the routine's own result, wrapped
        return _as_dask_result(_call(fn, {**params, xname: np.asarray(x.compute())}), da)
    npt = x.ndim - 1 if vector else x.ndim
    probe = _call(fn, {**params, xname: _first(x, npt, vector)})
    out_chunks = x.chunks[1:] if vector else x.chunks
    drop = [0] if vector else []
    if not isinstance(probe, dict):
        probe = np.asarray(probe)
        prefix = probe.shape[:probe.ndim - npt]
        return x.map_blocks(_point_block, fn, _without(params, xname), xname, npt, False, drop_axis=drop,
                            new_axis=list(range(len(prefix))) or None,
                            chunks=tuple((s,) for s in prefix) + out_chunks, dtype=probe.dtype,
                            meta=np.empty((0,) * (len(prefix) + npt), dtype=probe.dtype))
    cells = x.map_blocks(_point_block, fn, _without(params, xname), xname, npt, True, drop_axis=drop,
                         chunks=tuple((1,) * len(c) for c in out_chunks), dtype=object,
                         meta=np.empty((0,) * npt, dtype=object))
    return _lazy(type(probe), _fields_from_cells(cells, probe, npt, out_chunks))


def _as_dask_result(res, da):
    if isinstance(res, dict):
        return _lazy(type(res), {k: (da.from_array(v) if isinstance(v, np.ndarray) else v)
                                 for k, v in res.items()})
    if isinstance(res, tuple):
        return tuple(da.from_array(np.asarray(v)) if not isinstance(v, dict) else v for v in res)
    return da.from_array(np.asarray(res))


# quad: a, b and the array entries of args broadcast together; every element is one integral

def _quad_block(*blocks, fn, params, slots, full):
    args = list(params["args"])
    a, b = blocks[0], blocks[1]
    for i, blk in zip(slots, blocks[2:]):
        args[i] = blk
    shape = np.broadcast_shapes(*[np.shape(v) for v in blocks])
    out = _call(fn, {**params, "a": a, "b": b, "args": tuple(args)})
    if not full:
        return np.stack([np.broadcast_to(out[0], shape), np.broadcast_to(out[1], shape)])
    y, err, info = out[:3]
    info = dict(info)
    if "message" in info:
        info["message"] = np.array(info["message"] + [None], dtype=object)[:-1].reshape(shape)
    return _as_cell((np.asarray(y), np.asarray(err), info), len(shape))


def _quad_first(v, nd):
    if hasattr(v, "compute"):
        return np.asarray(v[(slice(0, 1),) * v.ndim].compute()) if v.ndim else v.compute()
    v = np.asarray(v)
    return v[(slice(0, 1),) * v.ndim] if v.ndim else v


def _quad(fn, params):
    dask, da = _dask()
    args = tuple(params.get("args") or ())
    slots = [i for i, t in enumerate(args) if isinstance(t, (da.Array, np.ndarray, list, tuple))
             and np.ndim(t) > 0]
    pieces = [params["a"], params["b"]] + [args[i] for i in slots]
    full = bool(params.get("full_output"))
    # validation, with quad's own messages, on the first element
    first = [_quad_first(v, 0) for v in pieces]
    probe_args = list(args)
    for i, v in zip(slots, first[2:]):
        probe_args[i] = v
    _call(fn, {**params, "a": first[0], "b": first[1], "args": tuple(probe_args)})
    arrs = da.broadcast_arrays(*[v if isinstance(v, da.Array) else da.asarray(np.asarray(v))
                                 for v in pieces])
    nd = arrs[0].ndim
    if nd == 0:
        return _as_dask_result(_call(fn, {**params, "a": arrs[0].compute(), "b": arrs[1].compute()}), da)
    rest = {k: v for k, v in params.items() if k not in ("a", "b")}
    rest["args"] = tuple(None if i in slots else v for i, v in enumerate(args))
    arrs = da.core.unify_chunks(*sum(([a, tuple(range(nd))] for a in arrs), []))[1]
    chunks = arrs[0].chunks
    if not full:
        both = da.map_blocks(_quad_block, *arrs, fn=fn, params=rest, slots=slots, full=False,
                             new_axis=[0], chunks=((2,),) + chunks, dtype=float,
                             meta=np.empty((0,) * (nd + 1)))
        return both[0], both[1]
    cells = da.map_blocks(_quad_block, *arrs, fn=fn, params=rest, slots=slots, full=True,
                          chunks=tuple((1,) * len(c) for c in chunks), dtype=object,
                          meta=np.empty((0,) * nd, dtype=object))

    def part(getter, dtype):
        return cells.map_blocks(lambda c: np.asarray(getter(c[(0,) * nd])), chunks=chunks,
                                dtype=dtype, meta=np.empty((0,) * nd, dtype=dtype))
    info = {"neval": cells.map_blocks(lambda c: np.full((1,) * nd, c[(0,) * nd][2]["neval"]),
                                      dtype=np.int64, meta=np.empty((0,) * nd, np.int64)).sum(),
            "ier": part(lambda o: o[2]["ier"], np.intc),
            "flags": part(lambda o: o[2]["flags"], object),
            "message": part(lambda o: o[2]["message"], object)}
    return part(operator.itemgetter(0), float), part(operator.itemgetter(1), float), info


# multistart: blocks of starts, then the best start over all blocks

def _combine_starts(cells):
    runs = [c.ravel()[0] for c in cells]     # one (1,) object array per block
    funs = np.concatenate([r.funs for r in runs])
    best = int(np.argmin(np.where(np.isfinite(funs), funs, np.inf)))
    offsets = np.cumsum([0] + [r.funs.size for r in runs])
    k = int(np.searchsorted(offsets, best, side="right") - 1)
    res = OptimizeResult(runs[k])
    res.update(xs=np.concatenate([r.xs for r in runs], axis=1), funs=funs,
               statuses=np.concatenate([r.statuses for r in runs]),
               nits=np.concatenate([r.nits for r in runs]), best=best,
               nfev=sum(r.nfev for r in runs), njev=sum(r.njev for r in runs))
    res.successes = np.concatenate([r.successes for r in runs])
    if "nhev" in runs[0]:
        res.nhev = sum(r.nhev for r in runs)
    if "paths" in runs[0]:
        rows = max(r.paths.shape[0] for r in runs)

        def pad(a):
            return np.concatenate([a, np.repeat(a[-1:], rows - a.shape[0], axis=0)], axis=0)
        res.paths = np.concatenate([pad(r.paths) for r in runs], axis=-1)
        res.fun_paths = np.concatenate([pad(r.fun_paths) for r in runs], axis=-1)
    return res


def _align_starts(x, params):
    """x rechunked along the starts so every cut falls at a multiple of the routine's own block
    size (the blocks are cut the same way as in one process); chunks keep about the size the
    user chose."""
    from fastcalc.optimize import multistart_block_size
    opts = params.get("options") or {}
    size = multistart_block_size(x.shape[0], params.get("method") or "gd",
                                 history=bool(opts.get("history", False)))
    k = x.shape[1]
    step = max(1, round(max(x.chunks[1]) / size)) * size
    chunks = (step,) * (k // step) + ((k % step,) if k % step else ())
    return x if chunks == x.chunks[1] else x.rechunk({1: chunks})


def _starts(fn, params, xname):
    dask, da = _dask()
    x = params[xname]
    if x.ndim != 2 or 0 in x.shape:
        return _call(fn, {**params, xname: np.asarray(x.compute())})   # its own ValueError
    if len(x.chunks[0]) > 1:
        _rechunk_hint(x, xname)
    probe = _call(fn, {**params, xname: _first(x, 1, True)})
    x = _align_starts(x, params)
    cells = x.map_blocks(_point_block, fn, _without(params, xname), xname, 1, True, drop_axis=[0],
                         chunks=((1,) * len(x.chunks[1]),), dtype=object,
                         meta=np.empty((0,), dtype=object))
    fields = _fields_from_cells(cells, {k: probe[k] for k in ("xs", "funs", "statuses", "nits",
                                                             "successes")}, 1, x.chunks[1:])
    combined = dask.delayed(_combine_starts)(cells.to_delayed(optimize_graph=False).tolist())
    for key in probe:
        if key not in fields:
            fields[key] = dask.delayed(operator.getitem)(combined, key)
    return _lazy(OptimizeResult, fields)


def dispatch(fn, params):
    """``fn(**params)`` with dask-array inputs, as a lazy dask computation (see the module docs).

    ``params`` is the ``locals()`` of the public routine's first line: its arguments by name.
    """
    kind, callables, xname, vector = _SPECS[fn.__name__]
    params = dict(params)
    for name in callables:
        if name in params:
            params[name] = shippable(params[name], name)
    if params.get("args"):
        try:
            _cloudpickle(tuple(a for a in params["args"] if not dask_input(a)))
        except Exception as exc:
            raise TypeError(f"args cannot be pickled for a Dask worker ({type(exc).__name__}: "
                            f"{exc})") from None
    if kind == "quad":
        return _quad(fn, params)
    if kind == "starts":
        return _starts(fn, params, xname)
    return _points(fn, params, xname, vector)
