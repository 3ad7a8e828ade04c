"""Type stubs for fastcalc._diff (compiled finite-difference kernels)."""
from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

FD_CENTRAL: int
FD_FORWARD: int
FD_BACKWARD: int

def fd_weights(deriv: int, method: str = ..., accuracy: int = ...) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def _fd_gradient(f: Any, x: ArrayLike, method: str = ..., accuracy: int = ..., step: ArrayLike | None = ...,
                 f0: ArrayLike | None = ..., *, vectorized: bool = ..., args: tuple = ...) -> NDArray[np.float64]: ...
