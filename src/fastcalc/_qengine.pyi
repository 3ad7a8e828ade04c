"""Type stubs for fastcalc._qengine (the adaptive quadrature engine)."""
from typing import Any

RULES: dict[str, int]
IER: dict[str, int]
FLAGS: dict[str, int]

class Integrand:
    nvar: int
    nogil: bool
    nfev: int

class UserIntegrand(Integrand):
    def __init__(self, ev: Any, nvar: int) -> None: ...
