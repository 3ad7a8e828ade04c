"""Type stubs for fastcalc._functions (built-in C test functions)."""
from typing import Callable

from fastcalc._core import Function

BUILTINS: dict[str, Function]
MINIMA: dict[str, Callable[[int], list]]
DOCS: dict[str, str]
