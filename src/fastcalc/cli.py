"""The ``fastcalc`` command: ``fastcalc info`` and ``fastcalc bench``.

``fastcalc`` (or ``python -m fastcalc``) without a command prints the help; ``fastcalc --version``
prints the version.
"""
import argparse
import os
import platform
import sys


def _info():
    import numpy
    import scipy

    import fastcalc
    from fastcalc._core import compiler, openmp_enabled

    rows = [
        ("fastcalc", fastcalc.__version__),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("numpy", numpy.__version__),
        ("scipy", scipy.__version__),
        ("compiler", compiler()),
        ("python built with", platform.python_compiler()),
        ("openmp", "on" if openmp_enabled() else "off"),
        ("machine", f"{platform.machine()} {platform.system()}"),
    ]
    try:
        import numba
        rows.append(("numba", numba.__version__))
    except ImportError:
        rows.append(("numba", "not installed (fastcalc.jit unavailable)"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


def _explore(port, open_browser):
    try:
        from fastcalc.explore import serve
        return serve(port, open_browser)
    except (ImportError, OSError, ValueError) as exc:
        print(f"fastcalc explore: {exc}", file=sys.stderr)
        return 2


def _bench_process(argv):
    """Run the bench in a process whose BLAS is single-threaded (OPENBLAS_NUM_THREADS=1, unless
    the user set it).  OpenBLAS reads it when NumPy loads it, so this process is replaced by a
    fresh one.  Why: after a NumPy call, OpenBLAS's idle threads spin for a while on the other
    cores; on a small machine they slow whatever runs next, fastcalc and its peer alike (1.5-2x on
    2 cores), and which row suffers depends on what ran before it."""
    if os.name != "posix" or "OPENBLAS_NUM_THREADS" in os.environ:
        return
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "fastcalc", *argv], env)


def main(argv=None):
    from fastcalc._version import __version__

    parser = argparse.ArgumentParser(prog="fastcalc", description="fastcalc command line")
    parser.add_argument("--version", action="version", version=f"fastcalc {__version__}")
    sub = parser.add_subparsers(dest="cmd")
    sub.add_parser("info", help="versions, compiler and OpenMP status")
    b = sub.add_parser("bench", help="benchmark fastcalc against SciPy/NumPy, side by side")
    b.add_argument("--quick", action="store_true", help="short run (under a minute)")
    b.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    b.add_argument("--filter", metavar="WORD", action="append", default=[],
                   help="only workloads whose name or group contains WORD (repeatable)")
    b.add_argument("--list", action="store_true", help="list the workloads and exit")
    b.add_argument("--scaling", action="store_true",
                   help="time vs batch size and vs workers (1, 2 threads, Dask with 2 processes; "
                        "Dask needs fastcalc[dask])")
    b.add_argument("--plot", metavar="FILE.png",
                   help="with --scaling: also draw the table (needs fastcalc[plot])")
    e = sub.add_parser("explore", help="interactive derivative explorer in the browser "
                                        "(needs fastcalc[explore])")
    e.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    e.add_argument("--no-browser", action="store_true", help="only print the URL")
    args = parser.parse_args(argv)
    if argv is None and args.cmd == "bench" and not args.list:
        _bench_process(sys.argv[1:])            # the command line, not a call from Python
    if args.cmd is None:
        parser.print_help()
        return 0
    if args.cmd == "info":
        return _info()
    if args.cmd == "explore":
        return _explore(args.port, not args.no_browser)
    if args.scaling:
        from fastcalc.bench.scaling import run_scaling
        return run_scaling(quick=args.quick, plot=args.plot, json_path=args.json)
    if args.plot:
        parser.error("--plot goes with --scaling")
    from fastcalc.bench import run_cli
    return run_cli(quick=args.quick, json_path=args.json, filters=args.filter, list_only=args.list)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
