"""``fastcalc explore``: an interactive derivative explorer in the browser
(``pip install 'fastcalc[explore]'``).

Type a function of x (and optionally y); the page shows f, f', f'', the tangent at a point, a
Taylor polynomial and its error, the area between two limits, or for f(x, y) a contour map with the
gradient and the Hessian's classification.  Every number is computed by fastcalc on a local server
(:mod:`fastcalc.explore.compute`); the text is parsed by a whitelist parser
(:mod:`fastcalc.explore.parser`), never evaluated as Python.
"""
from fastcalc.explore.compute import RequestError, compute_1d, compute_2d
from fastcalc.explore.parser import Expression, ParseError, parse

__all__ = ["parse", "Expression", "ParseError", "compute_1d", "compute_2d", "RequestError",
           "serve", "create_app"]


def serve(port=0, open_browser=True):
    """Run the explorer on 127.0.0.1 (see :func:`fastcalc.explore.server.serve`)."""
    from fastcalc.explore.server import serve as _serve
    return _serve(port, open_browser)


def create_app():
    """The Starlette application (see :func:`fastcalc.explore.server.create_app`)."""
    from fastcalc.explore.server import create_app as _create
    return _create()
