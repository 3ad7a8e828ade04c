"""The explorer's parser and server: numbers against analytic/SciPy/mpmath values, and hostile
input (injection, attributes, lambdas, huge exponents, 10 kB strings) -> HTTP 400 JSON, never 500."""
import math
import os
import sys

import numpy as np
import pytest

from fastcalc.explore import ParseError, RequestError, compute_1d, compute_2d, parse


# ---- parser ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, ref", [
    ("x^2 + 3*x - 1", lambda x: x ** 2 + 3 * x - 1),
    ("sin(x) * x^2", lambda x: np.sin(x) * x ** 2),
    ("exp(-x^2/2) / sqrt(2*pi)", lambda x: np.exp(-x ** 2 / 2) / np.sqrt(2 * np.pi)),
    ("-x^2", lambda x: -(x ** 2)),             # like mathematics: -(x^2)
    ("2^-1 * x", lambda x: 0.5 * x),
    ("log(abs(x) + e) + ln(2)", lambda x: np.log(np.abs(x) + np.e) + np.log(2)),
    ("sigmoid(x) + relu(x) + tanh(x)", lambda x: 1 / (1 + np.exp(-x)) + np.maximum(x, 0) + np.tanh(x)),
    ("atan2(x, 2) + hypot(x, 1) + max(x, 0.5) + min(x, 0.5)",
     lambda x: np.arctan2(x, 2) + np.hypot(x, 1) + np.maximum(x, .5) + np.minimum(x, .5)),
    ("x % 1", lambda x: np.mod(x, 1)),
    ("7", lambda x: 7.0 + 0 * x),
])
def test_parser_values(text, ref):
    x = np.linspace(-2, 2, 11)
    f = parse(text)
    assert f.variables == ("x",)
    np.testing.assert_allclose(f(x), ref(x), rtol=1e-15, atol=1e-15)


def test_parser_two_variables_batch_convention():
    f = parse("x^2 * y - cos(y)")
    assert f.variables == ("x", "y")
    v = np.array([[1.0, 2.0], [0.5, -1.0]])
    np.testing.assert_allclose(f(v), v[0] ** 2 * v[1] - np.cos(v[1]))
    assert f(np.array([1.0, 2.0])).shape == ()


HOSTILE = [
    ("__import__('os').system('touch /tmp/fastcalc_pwned')", "attribute"),
    ("__import__('os')", "unknown function '__import__'"),
    ("x.__class__.__bases__", "attribute"),
    ("().__class__", "attribute"),
    ("(lambda: 1)()", "lambda"),
    ("lambda x: x", "lambda"),
    ("[c for c in ()]", "comprehension"),
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("eval('1')", "unknown function 'eval'"),
    ("globals()", "unknown function"),
    ("x[0]", "indexing"),
    ("'abc'", "real numbers"),
    ("x if x else 1", "if/else"),
    ("x == 1", "comparison"),
    ("(y := 2)", "assignment"),
    ("sin(x=1)", "keyword"),
    ("sin(*[x])", "argument"),
    ("9 ** 9 ** 9 ** 9 ** 99999", "exponent"),
    ("x ^ 100000", "exponent"),
    ("2 ** -5000", "exponent"),
    ("1e400", "too large"),
    ("9" * 250 + "e90", "too large"),
    ("x" * 10_000, "too long"),
    ("sin(" * 50 + "x" + ")" * 50, "nested"),
    ("-" * 200 + "x", "nested"),
    ("+".join(["x"] * 140), "too long"),
    ("sin", "function"),
    ("foo(x)", "unknown function 'foo'"),
    ("z + 1", "unknown name 'z'"),
    ("sin(x, 2)", "argument"),
    ("x +", "syntax"),
    ("1 +* 2", "syntax"),
    ("", "type a function"),
    ("x\x00", "printable"),
    ("x\u00b2", "ASCII"),
    ("import os", "syntax"),
    ("x; 1", "syntax"),
    ("x @ x", "MatMult"),
    ("x << 2", "LShift"),
    ("j", "unknown name"),
    ("1j * x", "real numbers"),
    ("True + x", "real numbers"),
]


@pytest.mark.parametrize("text, word", HOSTILE)
def test_parser_rejects(text, word):
    with pytest.raises(ParseError, match=word if word.isalnum() else None) as info:
        parse(text)
    assert word.lower() in str(info.value).lower()


def test_parser_type_and_variables():
    with pytest.raises(ParseError, match="text"):
        parse(3)
    with pytest.raises(ParseError, match="remove y"):
        parse("x + y", variables=("x",))
    assert parse("x + 1", variables=("x", "y")).variables == ("x", "y")
    assert not os.path.exists("/tmp/fastcalc_pwned")


# ---- computations against independent references ---------------------------------------------

def test_compute_1d_numbers():
    mpmath = pytest.importorskip("mpmath")
    r = compute_1d({"expr": "sin(x) * x^2", "x0": 0.7, "degree": 4, "lo": -1, "hi": 2,
                    "a": -3, "b": 3, "n": 101})
    x0 = 0.7
    p = r["point"]
    assert p["f0"] == pytest.approx(math.sin(x0) * x0 ** 2, rel=1e-15)
    exact_slope = math.cos(x0) * x0 ** 2 + 2 * x0 * math.sin(x0)
    assert abs(p["slope"] - exact_slope) < 1e-9
    assert abs(p["slope"] - exact_slope) <= p["slope_error"]       # the estimate bounds the error
    exact_2nd = -math.sin(x0) * x0 ** 2 + 4 * x0 * math.cos(x0) + 2 * math.sin(x0)
    assert abs(p["second"] - exact_2nd) < 1e-5
    # Taylor coefficients and value against mpmath's
    mp = mpmath.mp
    mp.dps = 30
    coef = mpmath.taylor(lambda t: mpmath.sin(t) * t ** 2, mpmath.mpf("0.7"), 4)
    np.testing.assert_allclose(r["taylor_info"]["coef"], [float(c) for c in coef], rtol=1e-6,
                               atol=1e-8)
    t = r["taylor_info"]
    assert t["at"] == pytest.approx(1.2)
    assert t["value"] == pytest.approx(float(mpmath.polyval(coef[::-1], mpmath.mpf(0.5))),
                                       rel=1e-7)
    assert t["error"] == pytest.approx(abs(math.sin(1.2) * 1.44 - t["value"]), rel=1e-9)
    # area: antiderivative of x^2 sin x is 2x sin x + (2 - x^2) cos x
    F = lambda x: 2 * x * math.sin(x) + (2 - x ** 2) * math.cos(x)
    assert abs(r["area"]["value"] - (F(2) - F(-1))) < 1e-12
    assert r["area"]["error"] < 1e-9
    # the curves
    x = np.array(r["x"])
    np.testing.assert_allclose(r["df"], np.cos(x) * x ** 2 + 2 * x * np.sin(x), atol=1e-7)
    np.testing.assert_allclose(r["f"], np.sin(x) * x ** 2)
    assert len(x) == 101 and r["warnings"] == []
    # x = 0: f' = f'' = 0 exactly and f ~ x^3, where a relative tolerance alone can never be met
    # (scipy.differentiate.derivative reports status -2 there too); shown on the curve's scale
    assert x[50] == 0.0 and abs(r["df"][50]) < 1e-9 and abs(r["d2f"][50]) < 1e-6
    np.testing.assert_allclose(r["d2f"], -np.sin(x) * x ** 2 + 4 * x * np.cos(x) + 2 * np.sin(x),
                               atol=1e-5)


def test_compute_1d_domain_edges_and_kinks():
    r = compute_1d({"expr": "log(x)", "a": -2, "b": 2, "x0": 1.0, "lo": 0.5, "hi": 1.5})
    assert r["f"][0] is None and r["df"][0] is None      # undefined left of 0: gaps, no numbers
    assert abs(r["point"]["slope"] - 1.0) < 1e-9
    assert r["area"]["value"] == pytest.approx(1.5 * math.log(1.5) - 1.5 - 0.5 * math.log(0.5) + 0.5)
    r = compute_1d({"expr": "log(x)", "x0": -1.0})
    assert r["point"]["slope"] is None and any("not defined at x0" in w for w in r["warnings"])
    assert r["area"]["value"] is None and any("no area" in w for w in r["warnings"])
    r = compute_1d({"expr": "sqrt(x)", "x0": 0.0})          # domain edge inside the stencil
    assert r["point"]["slope"] is None and r["taylor_info"]["value"] is None
    r = compute_1d({"expr": "abs(x)", "x0": 0.0})           # a kink: says so, error covers it
    assert any("not differentiable" in w for w in r["warnings"])
    assert r["point"]["slope_error"] >= 1.0
    r = compute_1d({"expr": "sin(1/x)", "x0": 0.01, "lo": 0.5, "hi": 1})   # wild oscillation
    exact = -math.cos(100) * 1e4
    assert (abs(r["point"]["slope"] - exact) <= r["point"]["slope_error"]
            or any("uncertain" in w for w in r["warnings"]))


def test_compute_1d_tiny_and_huge_scales():
    r = compute_1d({"expr": "1e-12 * sin(x)", "x0": 0.3})
    assert abs(r["point"]["slope"] - 1e-12 * math.cos(0.3)) < 1e-20
    r = compute_1d({"expr": "1e12 * exp(x)", "x0": 1.0, "a": 0, "b": 2, "lo": 0, "hi": 1})
    assert r["point"]["slope"] == pytest.approx(1e12 * math.e, rel=1e-9)
    assert r["area"]["value"] == pytest.approx(1e12 * (math.e - 1), rel=1e-12)


@pytest.mark.parametrize("expr, lo, hi, exact", [
    ("sqrt(x)", 0.0, 1.0, 2 / 3),                                   # singular derivative at 0
    ("exp(-10000*(x - 0.3)^2)", -1.0, 1.0, math.sqrt(math.pi) / 100),   # narrow peak
    ("sin(50*x)", 0.0, 3.0, (1 - math.cos(150)) / 50),               # oscillation
    ("1e-20 * x^2", 0.0, 1.0, 1e-20 / 3),                            # tiny scale
    ("1e20 * exp(x)", 0.0, 1.0, 1e20 * (math.e - 1)),               # huge scale
])
def test_area_error_estimate_bounds_the_true_error(expr, lo, hi, exact):
    r = compute_1d({"expr": expr, "lo": lo, "hi": hi, "a": -1, "b": 3, "x0": 0.5})
    area = r["area"]
    true_err = abs(area["value"] - exact)
    assert true_err <= max(area["error"], 4e-16 * abs(exact)) or r["warnings"], (area, true_err)
    assert true_err <= 1e-8 * max(1.0, abs(exact))


def test_compute_2d_degenerate_is_not_guessed():
    r = compute_2d({"expr": "x^4 + y^2", "px": 0, "py": 0})
    assert r["point"]["kind"] == "degenerate"


def test_compute_2d_numbers():
    r = compute_2d({"expr": "x^2 - y^2", "px": 0, "py": 0, "n": 21})
    p = r["point"]
    assert p["kind"] == "saddle" and p["critical"] is True
    # grad = 0 exactly: converged on an absolute tolerance, no DifferentiationWarning, no caveat
    np.testing.assert_allclose(p["grad"], [0.0, 0.0], atol=1e-8)
    assert r["warnings"] == []
    np.testing.assert_allclose(p["eigenvalues"], [-2, 2], atol=1e-6)
    with pytest.warns(RuntimeWarning, match="not a critical point"):     # it is not one
        r = compute_2d({"expr": "x^2 * y + sin(y)", "px": 1.5, "py": -0.5, "n": 11})
    p = r["point"]
    np.testing.assert_allclose(p["grad"], [2 * 1.5 * -0.5, 1.5 ** 2 + math.cos(-0.5)], atol=1e-8)
    np.testing.assert_allclose(p["hessian"], [[-1.0, 3.0], [3.0, -math.sin(-0.5)]], atol=1e-5)
    assert p["critical"] is False
    X, Y = np.meshgrid(np.array(r["x"]), np.array(r["y"]))
    np.testing.assert_allclose(np.array(r["z"]), X ** 2 * Y + np.sin(Y))
    r = compute_2d({"expr": "-(x-1)^2 - (y+1)^2", "px": 1, "py": -1})
    assert r["point"]["kind"] == "maximum" and r["point"]["critical"]


@pytest.mark.parametrize("req, word", [
    ({}, "expr is missing"),
    ({"expr": "x", "a": "abc"}, "a must be a number"),
    ({"expr": "x", "a": 2, "b": 1}, "a must be smaller than b"),
    ({"expr": "x", "a": float("nan")}, "a must be a finite"),
    ({"expr": "x", "b": 1e300}, "b must be"),
    ({"expr": "x", "x0": [1, 2]}, "x0 must be a real number"),
    ({"expr": "x", "x0": True}, "x0 must be a real number"),
    ({"expr": "x", "degree": 7}, "degree must be an integer in [0, 6]"),
    ({"expr": "x", "degree": 2.5}, "degree must be an integer"),
    ({"expr": "x", "n": 10 ** 9}, "n must be an integer"),
    ({"expr": "x", "lo": 1, "hi": 1}, "lo must be smaller than hi"),
    ({"expr": "log(-1 - x^2)"}, "not defined"),
    ({"expr": "9^9^9^9"}, "not defined"),
    ({"expr": "x + y"}, "remove y"),
    ({"expr": 5}, "text"),
])
def test_compute_1d_bad_requests(req, word):
    with pytest.raises(RequestError) as info:
        compute_1d(req)
    assert word in str(info.value)


@pytest.mark.parametrize("req, word", [
    ({"expr": "x*y", "c": 3, "d": -3}, "c must be smaller than d"),
    ({"expr": "x*y", "n": 1000}, "n must be an integer"),
    ({"expr": "sqrt(-1 - x^2 - y^2)"}, "not defined"),
    ({"expr": "x*y", "px": "left"}, "px must be a number"),
])
def test_compute_2d_bad_requests(req, word):
    with pytest.raises(RequestError) as info:
        compute_2d(req)
    assert word in str(info.value)


def test_compute_2d_point_outside_domain():
    r = compute_2d({"expr": "log(x) + y", "px": -1, "py": 0})
    assert r["point"]["grad"] is None and r["warnings"]


# ---- the HTTP layer ----------------------------------------------------------------------------

def need_web_stack():
    """The HTTP tests need the explore extra (starlette, uvicorn, plotly) and httpx."""
    for mod in ("starlette", "uvicorn", "plotly", "httpx"):
        pytest.importorskip(mod)


@pytest.fixture(scope="module")
def client():
    need_web_stack()
    import warnings
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*httpx.*")   # starlette 1.x prefers httpx2
        from starlette.testclient import TestClient

    from fastcalc.explore import create_app
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def test_page_and_local_plotly(client):
    r = client.get("/")
    assert r.status_code == 200 and "fastcalc explorer" in r.text
    assert "cdn" not in r.text.lower() and 'src="plotly.min.js"' in r.text
    js = client.get("/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000 and b"plotly" in js.content[:2000]
    assert client.get("/app.js").status_code == 200


def test_api_1d_ok(client):
    r = client.post("/api/1d", json={"expr": "x^3", "x0": 2, "degree": 2, "lo": 0, "hi": 1})
    assert r.status_code == 200
    d = r.json()
    assert abs(d["point"]["slope"] - 12) < 1e-8 and abs(d["area"]["value"] - 0.25) < 1e-14
    assert len(d["x"]) == 500


def test_api_2d_ok(client):
    r = client.post("/api/2d", json={"expr": "x^2 + 3*y^2", "px": 0, "py": 0})
    assert r.status_code == 200 and r.json()["point"]["kind"] == "minimum"


@pytest.mark.parametrize("text, word", HOSTILE[:25])
def test_api_hostile_expressions_are_400(client, text, word):
    r = client.post("/api/1d", json={"expr": text})
    assert r.status_code == 400
    assert word.lower() in r.json()["error"].lower()
    assert "Traceback" not in r.text
    assert not os.path.exists("/tmp/fastcalc_pwned")


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe", b"", b'"x"', b"null",
                                  b'{"expr": "x", "a": {"$gt": 1}}', b'{"expr": ["x"]}'])
def test_api_malformed_bodies_are_400(client, body):
    r = client.post("/api/1d", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "error" in r.json()


def test_api_huge_body_is_400(client):
    r = client.post("/api/1d", json={"expr": "x" + "+x" * 10_000})
    assert r.status_code == 400 and "too large" in r.json()["error"]
    r = client.post("/api/2d", json={"expr": "x", "pad": "z" * 100_000})
    assert r.status_code == 400


def test_api_wrong_method_and_path_are_json(client):
    r = client.get("/api/1d")
    assert r.status_code == 405 and "error" in r.json()
    r = client.get("/nope")
    assert r.status_code == 404 and "error" in r.json()


def test_api_non_numeric_bounds_are_400(client):
    r = client.post("/api/1d", json={"expr": "x", "a": "minus one"})
    assert r.status_code == 400 and "a must be a number" in r.json()["error"]


def test_serve_binds_localhost_only_and_free_port():
    need_web_stack()
    from fastcalc.explore.server import Server
    s = Server(0)
    try:
        host, port = s.sock.getsockname()
        assert host == "127.0.0.1" and port > 0 and s.url == f"http://127.0.0.1:{port}/"
        with pytest.raises(OSError, match="--port"):
            Server(port)         # taken: a clear message
    finally:
        s.sock.close()
    with pytest.raises(ValueError, match="port"):
        Server(70000)


def test_cli_explore_without_the_extra_names_it(monkeypatch, capsys):
    import builtins

    from fastcalc.cli import main
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name in ("uvicorn", "starlette") or name.startswith("starlette."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.delitem(sys.modules, "fastcalc.explore.server", raising=False)
    assert main(["explore", "--no-browser"]) == 2
    assert "fastcalc[explore]" in capsys.readouterr().err


def test_cli_explore_reports_busy_port(capsys):
    need_web_stack()
    import socket

    from fastcalc.cli import main
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    try:
        rc = main(["explore", "--no-browser", "--port", str(sock.getsockname()[1])])
    finally:
        sock.close()
    assert rc == 2 and "--port" in capsys.readouterr().err


def test_cli_explore_serves(tmp_path):
    """`fastcalc explore --no-browser` prints its URL and answers on it."""
    need_web_stack()
    import subprocess
    import time
    import urllib.request
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "fastcalc", "explore", "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, (line, proc.stderr.read() if proc.poll() else "")
        url = line.split()[line.split().index("at") + 1]
        for _ in range(100):
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    assert b"fastcalc explorer" in r.read()
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("the explorer did not answer")
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_prints_url_and_opens_browser(monkeypatch):
    need_web_stack()
    import threading

    from fastcalc.explore import server as srv
    opened, printed = [], []
    monkeypatch.setattr(srv.webbrowser, "open", opened.append)
    monkeypatch.setattr(srv.Server, "run", lambda self: None)      # do not block the test
    monkeypatch.setattr(srv.threading, "Timer",
                        lambda delay, fn, args: threading.Thread(target=fn, args=args))
    assert srv.serve(0, True, out=printed.append) == 0
    for _ in range(100):
        if opened:
            break
        threading.Event().wait(0.01)
    assert printed and printed[0].startswith("fastcalc explorer running at http://127.0.0.1:")
    assert opened and opened[0] in printed[0]
    opened.clear()
    srv.serve(0, False, out=printed.append)
    assert opened == []
