"""Type stubs for fastcalc._plans (the compiled stencil-plan engine)."""
import numpy as np
from typing import Any

from numpy.typing import NDArray

from fastcalc._core import Evaluator

MAX_PLAN_POINTS: int
MAX_GENERAL_POINTS: int
PLANS_MAX_NPERT: int
MAX_HESSIAN_ROWS: int
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

def make_plan(specs: tuple, method: int, accuracy: int, levels: int, ratio: float = ...,
              scales: tuple | None = ...) -> StencilPlan: ...
def relative_steps(x: NDArray[np.float64], dcoord: NDArray[np.intc], c: float, method: int) -> NDArray[np.float64]: ...
def run(ev: Evaluator, plan: StencilPlan, x: NDArray[np.float64], h: NDArray[np.float64],
        dcoord: NDArray[np.intc], dvec: NDArray[np.float64] | None = ..., f0: NDArray[np.float64] | None = ...,
        want_err: bool = ..., extrapolate: bool = ..., *, workers: int = ...) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]: ...
def run_levels(ev: Evaluator, plan: StencilPlan, x: NDArray[np.float64], h: NDArray[np.float64],
               dcoord: NDArray[np.intc], dvec: NDArray[np.float64] | None = ..., *, workers: int = ...) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def richardson3(D: NDArray[np.float64], A: NDArray[np.float64], order0: int, ostep: int,
                s1: float = ..., s2: float = ...) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def first_pass_constant(k: int, order0: int, ostep: int) -> float: ...
def extrapolate_levels(vals: Any, absv: Any, order0: int, ostep: int, want_err: bool = ...,
                       extrapolate: bool = ...) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]: ...
