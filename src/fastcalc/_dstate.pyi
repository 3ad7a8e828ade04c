"""Type stub of the compiled descent state (fastcalc._dstate)."""
from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

from fastcalc._core import Evaluator

class DescentState:
    xo: NDArray[np.float64]
    go: NDArray[np.float64]
    fo: NDArray[np.float64]
    nit: NDArray[np.intp]
    status: NDArray[np.intc]
    njev: int
    nhev: int
    iterations: int
    hscale: float
    steps_per_epoch: float
    def __init__(self, fev: Evaluator, gev: Evaluator | None, hev: Evaluator | None, gmode: int,
                 hmode: int, x0: NDArray[np.float64], opt: dict[str, Any],
                 callback: Callable[..., Any] | None = ..., cb_new_style: bool = ...) -> None: ...
    def finalize(self) -> "DescentState": ...
    def alloc_outputs(self, k: int) -> None: ...
    def set_bounds(self, lo: NDArray[np.float64] | None, hi: NDArray[np.float64] | None) -> None: ...
    def history_arrays(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
