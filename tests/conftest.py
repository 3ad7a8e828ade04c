import os
import signal
import threading
import time

# one thread by default in tests (CONVENTIONS.md section 6)
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# a runner started in the background of a non-interactive shell (``cmd &``, nohup) inherits
# SIGINT ignored, and Python then installs no KeyboardInterrupt handler: the Ctrl-C tests would
# wait for their loops to finish.  Tests run with Python's own handler.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


class ctrl_c_until_done:
    """A context manager sending SIGINT to this process every ``every`` seconds (first after
    ``delay``) until the block ends: one SIGINT can land while Python code runs before the C loop
    starts, where a finalizer or weakref callback that is running then swallows the
    KeyboardInterrupt ("Exception ignored in ..."); the next one reaches the loop.  Stops after
    ``limit`` seconds."""

    def __init__(self, delay=0.3, every=0.5, limit=60.0):
        self.delay, self.every, self.limit = delay, every, limit
        self.done = threading.Event()
        self.lock = threading.Lock()        # no SIGINT once the block has ended
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        t0 = time.monotonic()
        if self.done.wait(self.delay):
            return
        while time.monotonic() - t0 < self.limit:
            with self.lock:
                if self.done.is_set():
                    return
                os.kill(os.getpid(), signal.SIGINT)
            if self.done.wait(self.every):
                return

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        with self.lock:
            self.done.set()
        self.thread.join()
        return False
