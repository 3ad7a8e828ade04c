"""The explorer in a real browser: headless Chromium (Debian's chromium + chromium-driver) driven
by Selenium loads the page, types an expression, moves the point, changes the Taylor degree and the
area's limits, and the numbers shown are checked against fastcalc; screenshots are saved as
artifacts (FASTCALC_ARTIFACTS, default a temporary directory).  Skipped when no browser is
installed; .ci/browser.sh installs one and fails loudly if it cannot run."""
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

webdriver = pytest.importorskip("selenium.webdriver")
pytest.importorskip("starlette")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

import fastcalc as fc  # noqa: E402
from fastcalc.explore.server import Server  # noqa: E402

CHROMIUM = os.environ.get("FASTCALC_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("FASTCALC_CHROMEDRIVER", "/usr/bin/chromedriver")

pytestmark = pytest.mark.skipif(
    not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)),
    reason=f"no browser: {CHROMIUM} and {CHROMEDRIVER} are needed (apt-get install chromium "
           "chromium-driver; .ci/browser.sh does it)")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    d = os.environ.get("FASTCALC_ARTIFACTS")
    path = Path(d) if d else tmp_path_factory.mktemp("browser")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def page():
    server = Server(0).start()
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,1700"):
        opts.add_argument(arg)
    try:
        driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=opts)
    except WebDriverException as exc:
        server.stop()
        pytest.fail(f"chromium is installed but did not start: {exc.msg}")
    driver.get(server.url)
    try:
        yield driver
    finally:
        driver.quit()
        server.stop()


def wait_for(driver, **fields):
    """Wait until the page shows the answer to a request with these fields; return the request."""
    def shown(d):
        if d.execute_script("return document.body.dataset.status") == "busy":
            return False
        raw = d.execute_script("return document.body.dataset.answer || ''")
        if not raw:
            return False
        req = json.loads(raw)
        ok = all(k in req and (req[k] == v if not isinstance(v, float)
                               else abs(float(req[k]) - v) < 1e-9) for k, v in fields.items())
        return req if ok else False
    return WebDriverWait(driver, 20, poll_frequency=0.05).until(shown)


def type_into(driver, element_id, text, key=Keys.ENTER):
    """Replace the text of an input as a user would, then press ``key``."""
    el = driver.find_element(By.ID, element_id)
    el.clear()
    el.send_keys(text, key)


def enter_expression(driver, text):
    type_into(driver, "expr", text)
    return wait_for(driver, expr=text)


def number(driver, element_id):
    text = driver.find_element(By.ID, element_id).text.strip()
    return float(text)


def slider(driver, element_id):
    return float(driver.find_element(By.ID, element_id).get_attribute("value"))


def f_np(x):
    return x ** 3 - 2 * x + np.sin(x)


def test_type_move_change_degree_and_check_numbers(page, artifacts):
    wait_for(page, expr="sin(x) * x^2")
    enter_expression(page, "x^3 - 2*x + sin(x)")

    # move the point: 30 steps of the slider to the right (keyboard, as a user would)
    x0_el = page.find_element(By.ID, "x0")
    start = slider(page, "x0")
    x0_el.send_keys(Keys.ARROW_RIGHT * 30)
    x0 = slider(page, "x0")
    assert x0 > start
    Select(page.find_element(By.ID, "degree")).select_by_visible_text("5")
    page.find_element(By.ID, "lo").send_keys(Keys.ARROW_LEFT * 50)
    lo, hi = slider(page, "lo"), slider(page, "hi")
    assert lo < -1
    req = wait_for(page, x0=x0, degree=5, lo=lo, hi=hi)
    assert req["expr"] == "x^3 - 2*x + sin(x)"

    # the numbers shown, against fastcalc (and the analytic values)
    slope = number(page, "slope")
    ref = float(fc.derivative(f_np, x0, vectorized=True, richardson=1))
    assert slope == pytest.approx(ref, rel=1e-9, abs=1e-9)
    assert slope == pytest.approx(3 * x0 ** 2 - 2 + math.cos(x0), rel=1e-8, abs=1e-8)
    p = fc.taylor(f_np, x0, 5, vectorized=True)
    assert number(page, "taylor-at") == pytest.approx(x0 + 0.5, rel=1e-6)
    assert number(page, "taylor-value") == pytest.approx(float(p(x0 + 0.5)), rel=1e-9)
    area = number(page, "area")
    ref_area, _ = fc.quad(f_np, lo, hi)
    assert area == pytest.approx(ref_area, rel=1e-9, abs=1e-12)
    F = lambda x: x ** 4 / 4 - x ** 2 - math.cos(x)
    assert area == pytest.approx(F(hi) - F(lo), rel=1e-8, abs=1e-12)
    assert page.find_element(By.ID, "message").text == ""
    # the chart drew the curves the server computed
    names = page.execute_script(
        "return document.getElementById('chart-f').data.map(t => t.name)")
    assert {"f", "f'", "tangent", "Taylor degree 5", "area"} <= set(names)
    page.save_screenshot(str(artifacts / "explorer_1d.png"))


def test_bad_expression_shows_message(page, artifacts):
    enter_expression(page, "__import__('os').system('echo pwned')")
    msg = page.find_element(By.ID, "message").text
    assert "attribute access" in msg
    assert page.execute_script("return document.body.dataset.status") == "error"
    # the previous function's numbers and curves are gone, not left next to the error
    assert page.find_element(By.ID, "slope").text == "—"
    assert page.find_element(By.ID, "area").text == "—"
    assert page.execute_script("return document.getElementById('chart-f').data.length") == 0
    enter_expression(page, "log(-1 - x^2)")
    assert "not defined" in page.find_element(By.ID, "message").text
    page.save_screenshot(str(artifacts / "explorer_error.png"))


def test_two_variables_contour_gradient_and_hessian(page, artifacts):
    enter_expression(page, "x^2 - y^2 + x*y")
    type_into(page, "px", "0.5", Keys.TAB)
    type_into(page, "py", "-1", Keys.TAB)
    wait_for(page, px="0.5", py="-1")
    grad = page.find_element(By.ID, "grad").text
    g = fc.gradient(lambda v: v[0] ** 2 - v[1] ** 2 + v[0] * v[1], np.array([0.5, -1.0]))
    shown = [float(t) for t in grad.strip("()").split(",")]
    np.testing.assert_allclose(shown, g, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(shown, [2 * 0.5 - 1, 2 + 0.5], atol=1e-7)
    assert page.find_element(By.ID, "kind").text.startswith("saddle")
    eig = [float(t) for t in page.find_element(By.ID, "eigs").text.split(",")]
    np.testing.assert_allclose(eig, np.linalg.eigvalsh([[2, 1], [1, -2]]), rtol=1e-6)
    page.save_screenshot(str(artifacts / "explorer_2d.png"))
