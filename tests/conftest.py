import os

# one thread by default in tests (CONVENTIONS.md section 6)
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
