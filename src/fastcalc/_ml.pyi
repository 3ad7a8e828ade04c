"""Type stubs for fastcalc._ml (kernels of fastcalc.ml)."""
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fastcalc._core import Function

ACTIVATIONS: dict[str, tuple[int, float, str | None]]
DOCS: dict[str, str]

class Activation(Function):
    code: int
    default_param: float
    param_name: str | None
    is_derivative: bool
    def __call__(self, x: Any, out: NDArray[Any] | None = ..., **params: float) -> Any: ...
    def value_and_grad(self, x: Any, out: NDArray[Any] | None = ...,
                       grad_out: NDArray[Any] | None = ..., **params: float) -> tuple[Any, Any]: ...

BUILTINS: dict[str, Activation]

def act(code: int, x: NDArray[np.floating], y: NDArray[np.floating], g: NDArray[np.floating],
        a: float, b: float) -> None: ...
def softmax_rows(x: NDArray[np.floating], out: NDArray[np.floating], log: bool) -> None: ...
def ce_logits(x: NDArray[np.floating], y: NDArray[np.floating], labels: NDArray[np.int64],
              scale: NDArray[np.floating], loss: NDArray[np.floating],
              grad: NDArray[np.floating]) -> None: ...
def info_rows(p: NDArray[np.floating], q: NDArray[np.floating], mode: int,
              res: NDArray[np.floating], sp: NDArray[np.floating],
              sq: NDArray[np.floating]) -> int: ...

class _Block: ...

def empty_output(n: int, dtype: Any) -> NDArray[np.floating]: ...
def release_pool() -> int: ...
