"""Type stubs for fastcalc._diff (compiled finite-difference kernels)."""
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fastcalc._core import Evaluator

MAX_PLAN_POINTS: int
MAX_LEVELS: int
SCALE_FLOOR: float
FAST_METHODS: dict[str, int]
def fd_weights(deriv: int, method: str = ..., accuracy: int = ...) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def grad_specs(n: int) -> tuple[tuple[str, int, int], ...]: ...
def gradient_call(f: Any, x: Any, method: Any, accuracy: Any, step: Any, richardson: Any,
                  vectorized: Any, args: Any, full_output: Any, atol: Any, rtol: Any,
                  workers: Any) -> Any: ...
def gradient_fast(f: Any, x: NDArray[np.float64], method: int, accuracy: int, vectorized: bool,
                  atol: float, rtol: float, specs: tuple[Any, ...], workers: int = ...,
                  partial: bool = ..., fixed: bool = ...) -> Any: ...
def _fd_hessian(f: Any, x: ArrayLike, step: ArrayLike | None = ..., *, vectorized: bool = ...,
                args: tuple = ...) -> NDArray[np.float64]: ...
def fixed_stencil_gradient(f: Any, x: ArrayLike, method: str = ..., accuracy: int = ..., step: ArrayLike | None = ...,
                 f0: ArrayLike | None = ..., *, vectorized: bool = ..., args: tuple = ...,
                 pad: int = ..., workers: int = ...) -> NDArray[np.float64]: ...
def all_finite(a: Any) -> bool: ...
