"""Type stubs for fastcalc._gauss (Gauss rules and fixed-order quadrature)."""
from typing import Any

import numpy as np
from numpy.typing import NDArray

MAX_NODES: int

def legendre(n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def polish(family: str, x: NDArray[np.float64]) -> NDArray[np.float64]: ...
def fixed_single(func: Any, a: Any, b: Any, args: Any, x: NDArray[np.float64],
                 w: NDArray[np.float64]) -> float | None: ...
def evaluate_points(func: Any, x: NDArray[np.float64], vectorized: bool,
                    args: tuple) -> NDArray[np.float64]: ...
def fixed_batch(func: Any, x: NDArray[np.float64], w: NDArray[np.float64],
                lo: NDArray[np.float64], hi: NDArray[np.float64],
                outer: NDArray[np.float64] | None, vectorized: bool,
                args: tuple) -> NDArray[np.float64]: ...
