"""The fastcalc command line: info and bench."""
import json
import subprocess
import sys

import pytest

from fastcalc.bench import Case, format_table, relative_error, workloads
from fastcalc.cli import main


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for word in ("fastcalc", "numpy", "scipy", "python", "compiler", "openmp"):
        assert word in out


def test_python_dash_m_and_help():
    r = subprocess.run([sys.executable, "-m", "fastcalc", "info"], capture_output=True, text=True)
    assert r.returncode == 0 and "openmp" in r.stdout
    r = subprocess.run([sys.executable, "-m", "fastcalc", "nonsense"], capture_output=True, text=True)
    assert r.returncode == 2


def test_bench_list(capsys):
    assert main(["bench", "--list"]) == 0
    out = capsys.readouterr().out
    assert "callables: built-in rosenbrock" in out


def test_bench_filter_json(tmp_path, capsys):
    path = tmp_path / "b.json"
    assert main(["bench", "--quick", "--filter", "rosenbrock on", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "speed-up" in out and "rosenbrock" in out
    data = json.loads(path.read_text())
    (row,) = data["results"]
    assert row["fastcalc_s"] > 0 and row["reference_s"] > 0
    assert row["fastcalc_error"] < 1e-13 and row["target"] == 1.5


def test_bench_no_match(capsys):
    assert main(["bench", "--filter", "no-such-workload-xyz"]) == 1


def test_every_workload_is_paired_and_accurate():
    """Each registered workload computes the same thing on both sides (checked once, untimed)."""
    for wl in workloads(quick=True):
        case = wl.case()
        fr, rr = case.fastcalc(), case.reference()
        acc_f, acc_r = case.accuracy(fr), case.accuracy(rr)
        if acc_f is not None:
            assert acc_f < 1e-6, wl


def test_table_and_error_helpers():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error([1.1], [1.0]) == pytest.approx(0.1)
    assert Case(lambda: 1, lambda: 1).accuracy(1) is None
    rows = [{"group": "g", "workload": "w", "reference": "r", "target": 2.0, "fastcalc_s": 1e-3,
             "reference_s": 4e-3, "ratio": 0.25, "fastcalc_error": 0.0, "reference_error": None,
             "meets_target": True},
            {"group": "g", "workload": "broken", "reference": "r", "target": None, "error": "X: y"}]
    text = format_table(rows)
    assert "4.0x" in text and "ok" in text and "FAILED" in text
