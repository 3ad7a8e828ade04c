"""Pictures of the calculus, every number computed by fastcalc (``pip install 'fastcalc[plot]'``).

One variable: :func:`tangent`, :func:`derivatives`, :func:`taylor`, :func:`area`.
Two variables: :func:`gradient_field`, :func:`surface`, :func:`descent_path`,
:func:`hessian_eigen`, :func:`vector_field`.

Each function draws on ``ax=`` (or a new figure) and returns an :class:`Artists` dict of what it
drew, whose ``values`` hold the numbers fastcalc computed for it.
"""
from fastcalc.plot.common import Artists
from fastcalc.plot.curves import area, derivatives, tangent, taylor
from fastcalc.plot.fields import descent_path, gradient_field, hessian_eigen, surface, vector_field

__all__ = ["Artists", "tangent", "derivatives", "taylor", "area", "gradient_field", "surface",
           "descent_path", "hessian_eigen", "vector_field"]
