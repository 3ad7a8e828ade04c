"""Type stub of the compiled quasi-Newton / CG kernels (fastcalc._quasi)."""
from typing import Any, Callable, final

import numpy as np
from numpy.typing import NDArray

from fastcalc._core import Evaluator

METHODS: dict[str, int]

@final
class QuasiNewton:
    f: float
    nit: int
    njev: int
    nhev: int
    status: int
    def __init__(self, fev: Evaluator, gev: Evaluator | None, hev: Evaluator | None, gmode: int,
                 hmode: int, x0: NDArray[np.float64], opt: dict[str, Any],
                 lo: NDArray[np.float64] | None = ..., hi: NDArray[np.float64] | None = ...,
                 callback: Callable[..., Any] | None = ..., cb_new_style: bool = ...) -> None: ...
    def execute(self) -> "QuasiNewton": ...
    @property
    def x(self) -> NDArray[np.float64]: ...
    @property
    def jac(self) -> NDArray[np.float64]: ...
    @property
    def hess_inv(self) -> NDArray[np.float64] | None: ...
    def history_arrays(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
