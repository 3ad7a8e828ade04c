"""The explorer's web server: Starlette + uvicorn on 127.0.0.1, the page and plotly.js served from
the installed packages (no CDN), two JSON endpoints that answer with fastcalc's numbers.

Every error a request can cause comes back as HTTP 400 with ``{"error": message}``; the server
never answers 500 and never shows a stack trace.
"""
import json
import socket
import threading
import warnings
import webbrowser
from pathlib import Path

try:
    import plotly
    import uvicorn
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Route
except ImportError as exc:  # pragma: no cover - exercised in a venv without the extra
    raise ImportError("the fastcalc explorer needs starlette, uvicorn and plotly, which are not "
                      "installed; install them with pip install 'fastcalc[explore]'") from exc

from fastcalc._validation import as_int
from fastcalc.explore.compute import RequestError, compute_1d, compute_2d

__all__ = ["create_app", "serve", "MAX_BODY"]

STATIC = Path(__file__).parent / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
MAX_BODY = 16_384          # bytes of a request body (an expression is at most 300 characters)
HOST = "127.0.0.1"


def _error(message, status=400):
    return JSONResponse({"error": message}, status_code=status)


async def _read_json(request):
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise RequestError(f"the request is too large (limit {MAX_BODY} bytes)")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise RequestError(f"the request is too large (limit {MAX_BODY} bytes)")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RequestError("the request body must be a JSON object") from None
    if not isinstance(data, dict):
        raise RequestError("the request body must be a JSON object")
    return data


def _quiet(compute, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compute(data)


def _endpoint(compute):
    async def handler(request):
        try:
            data = await _read_json(request)
            result = await run_in_threadpool(_quiet, compute, data)   # the loop stays free
            return JSONResponse(result)
        except RequestError as exc:
            return _error(str(exc))
        except Exception as exc:  # anything else is still the request's fault: say so, no trace
            return _error(f"could not compute this: {type(exc).__name__}: {exc}"[:500])
    return handler


async def _index(request):
    return FileResponse(STATIC / "index.html", media_type="text/html")


async def _app_js(request):
    return FileResponse(STATIC / "app.js", media_type="text/javascript")


async def _plotly_js(request):
    return FileResponse(PLOTLY_JS, media_type="text/javascript")


async def _not_found(request, exc):
    return _error(f"not found: {request.url.path}", status=404)


async def _method(request, exc):
    return _error(f"{request.method} is not allowed here", status=405)


async def _server_error(request, exc):     # last resort: still JSON, still 400, no trace
    return _error(f"could not answer: {type(exc).__name__}")


def create_app():
    """The Starlette application (routes ``/``, ``/app.js``, ``/plotly.min.js``, ``POST /api/1d``,
    ``POST /api/2d``)."""
    routes = [Route("/", _index), Route("/app.js", _app_js), Route("/plotly.min.js", _plotly_js),
              Route("/api/1d", _endpoint(compute_1d), methods=["POST"]),
              Route("/api/2d", _endpoint(compute_2d), methods=["POST"])]
    handlers = {404: _not_found, 405: _method, 500: _server_error, Exception: _server_error}
    return Starlette(routes=routes, exception_handlers=handlers)


def _socket(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # inherited by connections
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {HOST}:{port}: {exc.strerror}; choose another --port "
                      "(0 picks a free one)") from None
    sock.listen(64)
    return sock


class Server:
    """A running explorer: ``url``; ``start()`` in a background thread (tests), ``stop()``."""

    def __init__(self, port=0):
        port = as_int(port, "port", low=0, high=65535)
        self.sock = _socket(port)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{HOST}:{self.port}/"
        config = uvicorn.Config(create_app(), log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = None

    def run(self):
        """Serve in this thread until Ctrl-C."""
        self._server.run(sockets=[self.sock])

    def start(self):
        """Serve from a daemon thread; returns once the server accepts requests."""
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the explorer's server did not start")
            self._thread.join(0.02)
        return self

    def stop(self):
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(5)
        self.sock.close()


def serve(port=0, open_browser=True, *, out=print):
    """Run the explorer on ``127.0.0.1:port`` (0: a free port) until Ctrl-C; print its URL and
    open it in the browser unless ``open_browser`` is False."""
    server = Server(port)
    out(f"fastcalc explorer running at {server.url}  (Ctrl-C to stop)")
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(server.url,)).start()
    try:
        server.run()
    finally:
        server.sock.close()
    return 0
