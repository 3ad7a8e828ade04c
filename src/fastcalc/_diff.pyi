"""Type stubs for fastcalc._diff (compiled finite-difference kernels)."""
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fastcalc._core import Evaluator

MAX_PLAN_POINTS: int
PLANS_MAX_NPERT: int
MAX_LEVELS: int
SCALE_FLOOR: float
ROUND_FACTOR: float
FIRST_SCALES: tuple[float, float, float]

class StencilPlan:
    specs: tuple
    npert: int
    nrow: int
    nres: int
    levels: int
    order0: int
    ostep: int
    ndir_min: int
    d1: NDArray[np.intc]
    a1: NDArray[np.float64]
    d2: NDArray[np.intc]
    a2: NDArray[np.float64]
    tptr: NDArray[np.intp]
    trow: NDArray[np.intc]
    tw: NDArray[np.float64]
    rd1: NDArray[np.intc]
    rp1: NDArray[np.intc]
    rd2: NDArray[np.intc]
    rp2: NDArray[np.intc]
    rfac: NDArray[np.float64]

def fd_weights(deriv: int, method: str = ..., accuracy: int = ...) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def make_plan(specs: tuple, method: int, accuracy: int, levels: int, ratio: float = ...,
              scales: tuple | None = ...) -> StencilPlan: ...
def relative_steps(x: NDArray[np.float64], dcoord: NDArray[np.intc], c: float, method: int) -> NDArray[np.float64]: ...
def run(ev: Evaluator, plan: StencilPlan, x: NDArray[np.float64], h: NDArray[np.float64],
        dcoord: NDArray[np.intc], dvec: NDArray[np.float64] | None = ..., f0: NDArray[np.float64] | None = ...,
        want_err: bool = ..., extrapolate: bool = ...) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]: ...
def run_levels(ev: Evaluator, plan: StencilPlan, x: NDArray[np.float64], h: NDArray[np.float64],
               dcoord: NDArray[np.intc], dvec: NDArray[np.float64] | None = ...) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def richardson3(D: NDArray[np.float64], A: NDArray[np.float64], order0: int, ostep: int,
                s1: float = ..., s2: float = ...) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def first_pass_constant(k: int, order0: int, ostep: int) -> float: ...
def gradient_fast(f: Any, x: NDArray[np.float64], method: int, accuracy: int, vectorized: bool,
                  atol: float, rtol: float, specs: tuple) -> NDArray[np.float64] | None: ...
def _fd_hessian(f: Any, x: ArrayLike, step: ArrayLike | None = ..., *, vectorized: bool = ...,
                args: tuple = ...) -> NDArray[np.float64]: ...
def _fd_gradient(f: Any, x: ArrayLike, method: str = ..., accuracy: int = ..., step: ArrayLike | None = ...,
                 f0: ArrayLike | None = ..., *, vectorized: bool = ..., args: tuple = ...,
                 pad: int = ...) -> NDArray[np.float64]: ...
def all_finite(a: Any) -> bool: ...
