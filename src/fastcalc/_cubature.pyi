"""Type stubs for fastcalc._cubature (adaptive cubature over boxes)."""
from typing import Any

import numpy as np
from numpy.typing import NDArray

RULES: dict[str, int]
MAPS: dict[str, int]
MAX_RULE_NODES: int
REASONS: dict[str, int]

def cubature_run(f: Any, a: NDArray[np.float64], b: NDArray[np.float64], nout: int, rule: int,
                 rtol: float, atol: float, max_subdivisions: int, vectorized: bool, args: tuple,
                 transform: NDArray[np.intc], xa: NDArray[np.float64],
                 max_batch: int = ..., maxeval: int = ...,
                 workers: int = ...) -> tuple[Any, ...]: ...
def rule_nodes(rule: int, d: int) -> int: ...
