"""Type stubs for fastcalc._core (the callable protocol)."""
import enum
from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import LowLevelCallable

SIGNATURES: dict[str, int]
ACCEPTED_KINDS: str

class Kind(enum.IntEnum):
    KIND_BUILTIN = 0
    KIND_LOWLEVEL = 1
    KIND_PYVEC = 2
    KIND_PYSCALAR = 3

def openmp_enabled() -> bool: ...
def builtin_functions() -> dict[str, Function]: ...
def is_compiled(f: Any) -> bool: ...
def as_lowlevel(f: Any) -> LowLevelCallable | None: ...
def compiler() -> str: ...

class Function:
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    name: str
    ndim: int
    min_ndim: int
    output: int
    grad: Function | None
    hess: Function | None
    doc: str
    @property
    def output_kind(self) -> str: ...
    @property
    def lowlevel(self) -> LowLevelCallable: ...
    @property
    def minima(self) -> list[tuple[Any, float]]: ...
    def minima_in(self, n: int) -> list[tuple[Any, float]]: ...
    def __call__(self, x: ArrayLike) -> Any: ...

class Evaluator:
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    kind: int
    n: int
    nout: int
    scalar_x: bool
    scalar_out: bool
    nogil: bool
    nfev: int
    is_builtin: bool
    is_compiled: bool
    releases_gil: bool
    is_vectorized: bool
    size1: bool
    @property
    def kind_name(self) -> str: ...

def as_evaluator(
    f: Callable[..., Any] | Function | LowLevelCallable | Any,
    n: int = ...,
    nout: int = ...,
    scalar_x: bool = ...,
    scalar_out: bool = ...,
    vectorized: bool = ...,
    args: tuple[Any, ...] = ...,
    size1: bool = ...,
) -> Evaluator: ...
def values_at(ev: Evaluator, x: ArrayLike) -> NDArray[np.float64]: ...
def evaluate(
    f: Any,
    x: ArrayLike,
    *,
    nout: int = ...,
    vectorized: bool = ...,
    args: tuple[Any, ...] = ...,
    scalar_x: bool = ...,
) -> NDArray[np.float64]: ...
