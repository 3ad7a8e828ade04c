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
    from fastcalc.bench import missing_optional
    for wl in workloads(quick=True):
        try:
            case = wl.case()
        except ImportError as exc:          # a row needing an optional package (numba)
            if missing_optional(exc) is None:
                raise
            continue
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


def test_no_command_prints_help_and_version():
    r = subprocess.run([sys.executable, "-m", "fastcalc"], capture_output=True, text=True)
    assert r.returncode == 0 and "usage: fastcalc" in r.stdout and "bench" in r.stdout
    import fastcalc
    r = subprocess.run([sys.executable, "-m", "fastcalc", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"fastcalc {fastcalc.__version__}"


_NO_NUMBA = """
import sys
sys.modules["numba"] = None          # as in a base install: `import numba` raises ImportError
from fastcalc.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def test_bench_without_optional_package_skips_rows_and_succeeds():
    """The README's main command on a base install: rows needing numba are skipped, exit 0."""
    r = subprocess.run([sys.executable, "-c", _NO_NUMBA, "bench", "--quick", "--filter", "numba"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FAILED" not in r.stdout
    assert "need" in r.stdout and "numba: pip install 'fastcalc[bench]'" in r.stdout


def test_table_fits_100_columns_and_names_skips():
    from fastcalc.bench import WIDTH, missing_optional
    long = "x" * 150 + " a very long workload name " * 3
    rows = [{"group": "g", "workload": long, "reference": "scipy.integrate.quad " * 8, "target": 0.5,
             "fastcalc_s": 1e-3, "reference_s": 4e-3, "ratio": 0.25, "fastcalc_error": 1e-16,
             "reference_error": 2e-16, "meets_target": True},
            {"group": "g", "workload": "needs numba", "reference": "numba", "target": None,
             "skipped": "numba"},
            {"group": "g", "workload": "broken " * 30, "reference": "r", "target": None,
             "error": "ValueError: " + "y" * 300}]
    text = format_table(rows)
    assert max(len(ln) for ln in text.splitlines()) <= WIDTH
    assert ">=2x ok" in text and "4.0x" in text and "FAILED" in text
    assert "1 row needs numba: pip install 'fastcalc[bench]'" in text
    assert "SciPy" in text and "speed-up" in text and "target" in text
    # a missing base package (or fastcalc module) is a failure, not an optional skip
    assert missing_optional(ModuleNotFoundError("x", name="numba")) == "numba"
    assert missing_optional(ModuleNotFoundError("x", name="scipy.special")) is None
    assert missing_optional(ModuleNotFoundError("x", name="fastcalc.ml")) is None
    assert missing_optional(ValueError("numba")) is None


def test_bench_exit_status_only_fails_on_fastcalc_failures(monkeypatch, capsys):
    import fastcalc.bench as B
    wl_ok = B.Workload("g", "needs numba", lambda: __import__("numba_not_installed_xyz"), "numba")
    monkeypatch.setattr(B, "workloads", lambda **kw: [wl_ok])
    assert B.run_cli(quick=True) == 0
    assert "needs numba_not_installed_xyz" in capsys.readouterr().out

    def broken():
        raise RuntimeError("a fastcalc workload failed")
    monkeypatch.setattr(B, "workloads", lambda **kw: [B.Workload("g", "broken", broken, "SciPy")])
    assert B.run_cli(quick=True) == 1
    assert "FAILED" in capsys.readouterr().out


def test_measure_pair_alternates_and_takes_the_median_of_pair_ratios(monkeypatch):
    """A fake clock: fastcalc costs 1, the peer 2, except for a burst of load (x10) that hits
    whatever runs during it.  The per-pair ratio stays 0.5; one side timed after the other would
    have put the whole burst on one side."""
    from fastcalc import bench
    clock = [0.0]
    order = []
    calls = {"f": 0, "r": 0}

    def cost(c):
        burst = 20.0 <= clock[0] < 60.0
        clock[0] += c * (10.0 if burst else 1.0)

    def fast():
        calls["f"] += 1
        order.append("f")
        cost(1e-3)
        return "F"

    def ref():
        calls["r"] += 1
        order.append("r")
        cost(2e-3)
        return "R"
    monkeypatch.setattr(bench.time, "perf_counter", lambda: clock[0])
    tf, tr, ratio, rf, rr = bench.measure_pair(fast, ref, min_time=0.05, max_pairs=9,
                                               min_pairs=9)
    assert (rf, rr) == ("F", "R")
    assert ratio == 0.5
    assert calls["f"] == calls["r"]
    # blocks alternate, and the order within a pair flips: f r r f f r ...
    assert order[:2] == ["f", "r"]                         # one first call each
    # each block: an untimed warm-up call, then the timed one; the order flips every pair
    assert order[2:14] == ["f", "f", "r", "r", "r", "r", "f", "f", "f", "f", "r", "r"]
    assert tf > 0 and tr > 0


def test_bench_command_line_reruns_with_single_threaded_blas(monkeypatch):
    from fastcalc import cli
    seen = {}

    def fake_execve(path, args, env):
        seen.update(path=path, args=args, env=env)
        raise SystemExit(0)
    monkeypatch.setattr(cli.os, "execve", fake_execve)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setattr(sys, "argv", ["fastcalc", "bench", "--quick", "--filter", "quad"])
    with pytest.raises(SystemExit):
        cli.main()
    assert seen["args"][1:] == ["-m", "fastcalc", "bench", "--quick", "--filter", "quad"]
    assert seen["env"]["OPENBLAS_NUM_THREADS"] == "1"
    # the user's own setting is kept, and calls from Python never re-run the process
    seen.clear()
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    monkeypatch.setattr(cli, "_bench_process", lambda argv: seen.setdefault("called", argv))
    monkeypatch.setattr("fastcalc.bench.run_cli", lambda **kw: 0)
    assert cli.main(["bench", "--quick"]) == 0
    assert "called" not in seen
