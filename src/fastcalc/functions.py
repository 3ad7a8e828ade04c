"""Built-in test functions evaluated in C.

Each name is a :class:`fastcalc._core.Function`: call it with the batch-axis convention (variables on
axis 0, points on the trailing axes), pass it to any fastcalc routine (it runs in C without the GIL),
or hand its ``.lowlevel`` :class:`scipy.LowLevelCallable` to SciPy.  ``.grad`` and ``.hess`` are the
analytic gradient and Hessian (``hess`` is None where it is not provided), ``.minima`` the known minima.

====================  =====  ======================================================
name                  n      notes
====================  =====  ======================================================
``sphere``            any    sum of squares
``rosenbrock``        >= 2   same as :func:`scipy.optimize.rosen`
``rastrigin``         any    many local minima
``ackley``            any    no Hessian; gradient taken as 0 at the kink at 0
``styblinski_tang``   any
``himmelblau``        2      four global minima
``beale``             2
``booth``             2
``goldstein_price``   2      no Hessian
``square``            1      x**2
``sin``               1
``gauss``             1      exp(-x**2)
``sigmoid``           1      1/(1 + exp(-x)), overflow-free
====================  =====  ======================================================

Examples
--------
>>> import numpy as np
>>> from fastcalc.functions import rosenbrock
>>> float(rosenbrock(np.array([1.0, 1.0, 1.0])))
0.0
>>> rosenbrock.grad(np.zeros((3, 4))).shape      # 4 points in R^3
(3, 4)
"""
from fastcalc._core import Function
from fastcalc._functions import BUILTINS as _B

sphere = _B["sphere"]
rosenbrock = _B["rosenbrock"]
rastrigin = _B["rastrigin"]
ackley = _B["ackley"]
styblinski_tang = _B["styblinski_tang"]
himmelblau = _B["himmelblau"]
beale = _B["beale"]
booth = _B["booth"]
goldstein_price = _B["goldstein_price"]
square = _B["square"]
sin = _B["sin"]
gauss = _B["gauss"]
sigmoid = _B["sigmoid"]

#: every built-in value function, by name
ALL = {f.name: f for f in (sphere, rosenbrock, rastrigin, ackley, styblinski_tang, himmelblau, beale,
                           booth, goldstein_price, square, sin, gauss, sigmoid)}

__all__ = ["Function", "ALL"] + list(ALL)
