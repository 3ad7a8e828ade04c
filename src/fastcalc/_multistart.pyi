"""Type stub of the compiled block runner of multi-start runs (fastcalc._multistart)."""
import numpy as np
from numpy.typing import NDArray

from fastcalc._descent import Descent

def run_blocks(slots: list[Descent], x0: NDArray[np.float64], block: int) -> Descent: ...
