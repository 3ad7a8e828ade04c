"""A whitelist parser for the explorer: user text -> NumPy callable, never ``eval``.

The text is parsed by :func:`ast.parse` into a syntax tree that is only *read*: every node must be
on the allow-list (numbers, the names ``x``/``y``/``pi``/``e``, ``+ - * / ** ^ %``, unary signs and
calls of the functions in :data:`FUNCTIONS` with positional arguments).  The tree is then turned
into nested Python closures over NumPy ufuncs.  Nothing from the text is ever executed, looked up
as an attribute or imported; anything else (attributes, subscripts, lambdas, comprehensions,
strings, keywords, unknown names) is rejected with a :class:`ParseError` that says why.
"""
import ast
import math

import numpy as np

__all__ = ["ParseError", "Expression", "parse", "FUNCTIONS", "MAX_LENGTH"]

MAX_LENGTH = 300          # characters of user text
MAX_NODES = 200           # nodes of the syntax tree
MAX_DEPTH = 40            # nesting depth
MAX_EXPONENT = 1000.0     # |literal exponent| allowed in a ** b


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _relu(z):
    return np.maximum(z, 0.0)


#: function name -> (NumPy implementation, number of arguments)
FUNCTIONS = {
    "sin": (np.sin, 1), "cos": (np.cos, 1), "tan": (np.tan, 1),
    "asin": (np.arcsin, 1), "acos": (np.arccos, 1), "atan": (np.arctan, 1),
    "arcsin": (np.arcsin, 1), "arccos": (np.arccos, 1), "arctan": (np.arctan, 1),
    "sinh": (np.sinh, 1), "cosh": (np.cosh, 1), "tanh": (np.tanh, 1),
    "exp": (np.exp, 1), "log": (np.log, 1), "ln": (np.log, 1), "log10": (np.log10, 1),
    "log2": (np.log2, 1), "sqrt": (np.sqrt, 1), "abs": (np.abs, 1), "cbrt": (np.cbrt, 1),
    "sigmoid": (_sigmoid, 1), "relu": (_relu, 1), "erf": (None, 1),
    "atan2": (np.arctan2, 2), "hypot": (np.hypot, 2), "min": (np.minimum, 2),
    "max": (np.maximum, 2),
}
CONSTANTS = {"pi": np.pi, "e": np.e}
VARIABLES = ("x", "y")

_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
           ast.Pow: np.power, ast.Mod: np.mod}
_UNARY = {ast.UAdd: np.positive, ast.USub: np.negative}


class ParseError(ValueError):
    """The text is not an expression the explorer accepts; the message says why."""


def _erf(z):
    from scipy.special import erf
    return erf(z)


class Expression:
    """A parsed expression: ``expr(x)`` or ``expr(v)`` evaluates it with NumPy.

    ``variables`` is ``("x",)`` or ``("x", "y")``.  For one variable, ``expr(x)`` takes an array of
    points and returns an array of the same shape; for two, ``expr(v)`` takes ``v`` of shape
    ``(2, ...)`` (fastcalc's batch convention: variables on axis 0).
    """

    def __init__(self, text, fn, variables):
        self.text = text
        self._fn = fn
        self.variables = variables

    def __call__(self, v):
        if np.iscomplexobj(v):
            # real arithmetic only (the parser has no complex branches): fastcalc.taylor's
            # complex-contour probe gets a TypeError and uses real stencils
            raise TypeError("explorer expressions take real numbers, not complex ones")
        v = np.asarray(v, dtype=np.float64)
        if len(self.variables) == 1:
            env = {"x": v}
            shape = v.shape
        else:
            env = {"x": v[0], "y": v[1]}
            shape = v.shape[1:]
        with np.errstate(all="ignore"):
            r = self._fn(env)
        r = np.asarray(r, dtype=np.float64)
        if r.shape != shape:
            r = np.broadcast_to(r, shape).copy()
        return r

    def __repr__(self):
        return f"Expression({self.text!r}, variables={self.variables})"


def _number(node):
    v = node.value
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ParseError(f"only real numbers are allowed, got {v!r}")
    try:
        v = float(v)
    except OverflowError:
        v = math.inf
    if not math.isfinite(v):
        raise ParseError("a number is too large for double precision (limit about 1.8e308)")
    return v


def _literal_value(node):
    """The value of a constant (possibly signed) literal, or None."""
    if isinstance(node, ast.Constant):
        return _number(node)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        inner = _literal_value(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    return None


class _Compiler:
    def __init__(self):
        self.nodes = 0
        self.used = set()

    def build(self, node, depth=0):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ParseError(f"the expression is too long (more than {MAX_NODES} terms)")
        if depth > MAX_DEPTH:
            raise ParseError(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(node, ast.Constant):
            value = _number(node)
            return lambda env: value
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            if isinstance(node.op, ast.Pow):
                expo = _literal_value(node.right)
                if expo is not None and abs(expo) > MAX_EXPONENT:
                    raise ParseError(f"the exponent {expo:g} is too large (limit {MAX_EXPONENT:g})")
            op = _BINARY[type(node.op)]
            # a long sum or product is a chain, not nesting: only powers count as a level
            inner = depth + 1 if isinstance(node.op, ast.Pow) else depth
            left, right = self.build(node.left, inner), self.build(node.right, inner)
            return lambda env: op(left(env), right(env))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            op = _UNARY[type(node.op)]
            operand = self.build(node.operand, depth + 1)
            return lambda env: op(operand(env))
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        raise ParseError(f"{_describe(node)} is not allowed; use numbers, x, y, + - * / ^ and "
                         f"the functions {', '.join(sorted(FUNCTIONS))}")

    def _name(self, node):
        name = node.id
        if name in VARIABLES:
            self.used.add(name)
            return lambda env: env[name]
        if name in CONSTANTS:
            value = CONSTANTS[name]
            return lambda env: value
        if name in FUNCTIONS:
            raise ParseError(f"{name} is a function: write {name}(...)")
        raise ParseError(f"unknown name {name!r}; the variables are x and y, the constants pi and e")

    def _call(self, node, depth):
        if not isinstance(node.func, ast.Name):
            raise ParseError(f"{_describe(node.func)} cannot be called; only the functions "
                             f"{', '.join(sorted(FUNCTIONS))}")
        name = node.func.id
        if name not in FUNCTIONS:
            raise ParseError(f"unknown function {name!r}; known: {', '.join(sorted(FUNCTIONS))}")
        if node.keywords:
            raise ParseError(f"{name}() takes no keyword arguments")
        impl, nargs = FUNCTIONS[name]
        if name == "erf":
            impl = _erf
        if len(node.args) != nargs or any(isinstance(a, ast.Starred) for a in node.args):
            raise ParseError(f"{name}() takes {nargs} argument{'s' if nargs > 1 else ''}, got "
                             f"{len(node.args)}")
        args = [self.build(a, depth + 1) for a in node.args]
        if nargs == 1:
            (a,) = args
            return lambda env: impl(a(env))
        a, b = args
        return lambda env: impl(a(env), b(env))


def _describe(node):
    kinds = {ast.Attribute: "attribute access (a.b)", ast.Subscript: "indexing (a[b])",
             ast.Lambda: "a lambda", ast.Compare: "a comparison", ast.BoolOp: "and/or",
             ast.IfExp: "if/else", ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a dict",
             ast.Set: "a set", ast.ListComp: "a comprehension", ast.GeneratorExp: "a generator",
             ast.NamedExpr: "an assignment (:=)", ast.JoinedStr: "a string",
             ast.Starred: "*arguments", ast.Await: "await", ast.Yield: "yield"}
    for cls, text in kinds.items():
        if isinstance(node, cls):
            return text
    if isinstance(node, ast.BinOp):
        return f"the operator {type(node.op).__name__}"
    if isinstance(node, ast.UnaryOp):
        return f"the operator {type(node.op).__name__}"
    return type(node).__name__


def parse(text, *, variables=None):
    """Parse ``text`` (a formula in x, or in x and y) into an :class:`Expression`.

    ``^`` means power (as in ``x^2``).  ``variables`` forces ``("x",)`` or ``("x", "y")``; by
    default it is ``("x", "y")`` when ``y`` occurs, else ``("x",)``.

    Raises
    ------
    ParseError
        For anything that is not on the allow-list, with a message that says what is wrong.

    Examples
    --------
    >>> import numpy as np
    >>> from fastcalc.explore.parser import parse
    >>> f = parse("x^2 + sin(x)")
    >>> bool(f(np.array([0.5]))[0] == 0.25 + np.sin(0.5))
    True
    >>> parse("__import__('os')")
    Traceback (most recent call last):
    ...
    fastcalc.explore.parser.ParseError: unknown function '__import__'; known: ...
    """
    if not isinstance(text, str):
        raise ParseError(f"the expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the expression is too long ({len(text)} characters, limit {MAX_LENGTH})")
    src = text.strip()
    if not src:
        raise ParseError("type a function of x (and optionally y), for example sin(x) * x^2")
    if not src.isascii() or not src.isprintable():
        raise ParseError("the expression may only contain plain printable ASCII characters")
    src = src.replace("^", "**")
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        where = f" at character {exc.offset}" if exc.offset else ""
        raise ParseError(f"syntax error{where}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError, OverflowError):
        raise ParseError("the expression could not be parsed (too long or too deeply nested)") \
            from None
    comp = _Compiler()
    try:
        fn = comp.build(tree.body)
    except RecursionError:
        raise ParseError("the expression is nested too deeply") from None
    if variables is None:
        variables = ("x", "y") if "y" in comp.used else ("x",)
    variables = tuple(variables)
    if variables not in (("x",), ("x", "y")):
        raise ParseError(f"variables must be ('x',) or ('x', 'y'), got {variables}")
    if "y" in comp.used and variables == ("x",):
        raise ParseError("this plot is of a function of x alone; remove y")
    return Expression(text, fn, variables)
