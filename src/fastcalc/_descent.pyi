"""Type stub of the compiled descent kernels (fastcalc._descent)."""
from typing import final

import numpy as np
from numpy.typing import NDArray

from fastcalc._core import Evaluator
from fastcalc._dstate import DescentState

METHODS: dict[str, int]
SCHEDULES: dict[str, int]
GRADIENT_MODES: dict[str, int]
HESSIAN_MODES: dict[str, int]
FD_METHODS: dict[str, int]
LINE_SEARCHES: dict[str, int]
NEWTON_ROOT: int
MESSAGES: dict[int, str]
SUCCESS: tuple[int, ...]

@final
class Descent(DescentState):
    def execute(self) -> "Descent": ...

