"""Build the compiled core of fastcalc.

Every ``src/fastcalc/*.pyx`` is cythonized with one set of compiler directives, compiled with ``-O3``
and, when the compiler accepts it, OpenMP.  ``FASTCALC_DEBUG=1`` turns bounds checking back on and
builds without optimisation, for debugging pointer code.  The user's ``CFLAGS`` come LAST on the
compiler's command line, so ``CFLAGS="-O1 -fsanitize=address,undefined"`` (the sanitizer build,
``.ci/sanitize.sh``) overrides fastcalc's own ``-O3``.
"""
import shlex
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class ParallelBuildExt(build_ext):
    """Compile the extension modules in parallel, one job per core (``--parallel`` still wins)."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = _jobs()


def _jobs():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1

DEBUG = os.environ.get("FASTCALC_DEBUG", "") not in ("", "0")


def _compiler_accepts(flags):
    """True when the C compiler compiles and links a small OpenMP program with ``flags``."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    cc = cc.split()
    if shutil.which(cc[0]) is None:
        return False
    src = "#include <omp.h>\nint main(void){int s=0;\n#pragma omp parallel for reduction(+:s)\nfor(int i=0;i<4;i++) s+=i;\nreturn s!=6;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        c = os.path.join(tmp, "t.c")
        with open(c, "w") as fh:
            fh.write(src)
        try:
            r = subprocess.run(cc + flags + [c, "-o", os.path.join(tmp, "t")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            return False
        return r.returncode == 0


OPENMP = os.environ.get("FASTCALC_NO_OPENMP", "") in ("", "0") and _compiler_accepts(["-fopenmp"])
if not OPENMP:
    print("fastcalc: building WITHOUT OpenMP", file=sys.stderr)

compile_args = ["-O0", "-g"] if DEBUG else ["-O3"]
compile_args += ["-fno-math-errno", "-std=c11" if sys.platform != "win32" else ""]
compile_args = [a for a in compile_args if a]
# setuptools puts CFLAGS before extra_compile_args; repeat them at the end so the user's flags win
user_cflags = shlex.split(os.environ.get("CFLAGS", ""))
link_args = []
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION"),
          ("FASTCALC_OPENMP", "1" if OPENMP else "0")]
if OPENMP:
    compile_args.append("-fopenmp")
    link_args.append("-fopenmp")
else:
    compile_args.append("-fopenmp-simd")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": DEBUG,
    "embedsignature": True,
}

extensions = [
    Extension(
        "fastcalc." + os.path.splitext(os.path.basename(path))[0],
        [path],
        include_dirs=[np.get_include(), "src/fastcalc/_src"],
        define_macros=macros,
        extra_compile_args=compile_args + user_cflags,
        extra_link_args=link_args,
        libraries=["m"],
    )
    for path in sorted(glob.glob("src/fastcalc/*.pyx"))
]

setup(
    ext_modules=cythonize(extensions, compiler_directives=directives,
                          include_path=["src"], nthreads=_jobs() if _jobs() > 1 else 0),
    cmdclass={"build_ext": ParallelBuildExt},
)
