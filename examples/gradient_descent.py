"""Gradient descent, the classic demonstration, with fastcalc's C loops.

1. minimise x**2 from x0 = 2 with learning rate 0.1 (each step multiplies x by 0.8);
2. the Rosenbrock valley: plain GD, momentum, Adam and Newton's method from (-1.2, 1);
3. a function with many minima (Rastrigin): local versus global minima from different starts,
   all starts run together by ``multistart``, and the critical points classified.

Run:  python examples/gradient_descent.py      (saves gradient_descent.png when matplotlib is there)
"""
import numpy as np

import fastcalc as fc
from fastcalc.functions import rastrigin, rosenbrock


def _fmt(x):
    return f"{x:.6g}" if np.ndim(x) == 0 else np.array2string(x, precision=6)


def show_path(title, path, fun_path, limit=8):
    print(f"\n{title}")
    for k in range(min(limit, len(path))):
        print(f"  step {k:5d}  x = {_fmt(path[k]):<28}  f = {fun_path[k]:.6g}")
    if len(path) > limit:
        print(f"  ...\n  step {len(path) - 1:5d}  x = {_fmt(path[-1]):<28}  f = {fun_path[-1]:.6g}")


def main():
    # 1. the seed example: f(x) = x^2, f'(x) = 2x, x0 = 2, lr = 0.1
    res = fc.gradient_descent(lambda x: x ** 2, 2.0, jac=lambda x: 2 * x, lr=0.1, maxiter=100)
    show_path("1. x**2 from x0 = 2, lr = 0.1 (x_k = 2 * 0.8**k)", res.path, res.fun_path)
    print(f"  -> x = {res.x:.3g} after {res.nit} steps: {res.message}")

    # the same without a derivative: central differences inside the C loop
    res_fd = fc.gradient_descent(lambda x: x ** 2, 2.0, lr=0.1, maxiter=100)
    print(f"  finite differences: x = {res_fd.x:.3g} after {res_fd.nit} steps, "
          f"{res_fd.nfev} function evaluations")

    # 2. Rosenbrock: first-order methods crawl along the valley, Newton jumps
    x0 = np.array([-1.2, 1.0])
    runs = {
        "gd (lr 1e-3)": fc.minimize(rosenbrock, x0, method="gd", jac=rosenbrock.grad,
                                    options={"lr": 1e-3, "maxiter": 20000, "history": True}),
        "momentum": fc.minimize(rosenbrock, x0, method="momentum", jac=rosenbrock.grad,
                                options={"lr": 1e-3, "maxiter": 20000, "history": True}),
        "adam (lr 0.02)": fc.minimize(rosenbrock, x0, method="adam", jac=rosenbrock.grad,
                                      options={"lr": 0.02, "maxiter": 20000, "history": True}),
        "newton": fc.minimize(rosenbrock, x0, method="newton", jac=rosenbrock.grad,
                              hess=rosenbrock.hess, options={"history": True}),
    }
    print("\n2. Rosenbrock from (-1.2, 1); minimum 0 at (1, 1)")
    for name, r in runs.items():
        print(f"  {name:<15} {r.nit:6d} iterations  f = {r.fun:.3e}  x = "
              f"{np.array2string(r.x, precision=6)}  ({'converged' if r.success else r.message})")
    show_path("   Newton's path", runs["newton"].path, runs["newton"].fun_path)

    # 3. local versus global minima: one C loop runs every start
    starts = np.array([[0.3, 1.2, -2.1, 3.4, -0.4], [0.2, -0.9, 2.2, 0.1, -3.3]])
    ms = fc.multistart(rastrigin, starts, jac=rastrigin.grad,
                       options={"lr": 2e-3, "maxiter": 5000, "history": True})
    print("\n3. Rastrigin (global minimum 0 at the origin) from five starts")
    for j in range(starts.shape[1]):
        x = ms.xs[:, j]
        kind = fc.classify_critical_point(rastrigin, x).kind
        print(f"  start {np.array2string(starts[:, j], precision=2):<14} -> "
              f"x = {np.array2string(x, precision=4):<22} f = {ms.funs[j]:8.4f}  ({kind}"
              f"{', global' if ms.funs[j] < 1e-8 else ', local'})")
    print(f"  best start: #{ms.best}, f = {ms.fun:.3g}")
    wide = fc.multistart(rastrigin, bounds=[(-5.12, 5.12)] * 2, n_starts=1000, seed=0,
                         jac=rastrigin.grad, options={"lr": 1e-3, "maxiter": 1000})
    print(f"  1000 random starts: {int(np.sum(wide.funs < 1e-8))} reach the global minimum; "
          f"best f = {wide.fun:.3g}")
    print("  the saddle between two minima:",
          fc.classify_critical_point(rastrigin, [0.5025460, 0.0]).kind)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(matplotlib not installed: no plot)")
        return
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    gx, gy = np.meshgrid(np.linspace(-2, 2, 300), np.linspace(-1, 3, 300))
    axes[0].contour(gx, gy, np.log10(rosenbrock(np.stack([gx, gy])) + 1e-3), 30, cmap="gray")
    for name, r in runs.items():
        axes[0].plot(r.path[:, 0], r.path[:, 1], ".-", ms=2, lw=1, label=name)
    axes[0].plot(1, 1, "k*", ms=12)
    axes[0].set_title("Rosenbrock: trajectories from (-1.2, 1)")
    axes[0].legend()
    gx, gy = np.meshgrid(np.linspace(-4, 4, 300), np.linspace(-4, 4, 300))
    axes[1].contour(gx, gy, rastrigin(np.stack([gx, gy])), 12, cmap="gray", linewidths=0.6)
    for j in range(starts.shape[1]):
        line, = axes[1].plot(ms.paths[:, 0, j], ms.paths[:, 1, j], ".-", ms=2, lw=1.5)
        axes[1].plot(*starts[:, j], "o", color=line.get_color())
    axes[1].set_title("Rastrigin: local vs global minima from different starts")
    fig.tight_layout()
    fig.savefig("gradient_descent.png", dpi=120)
    print("\nsaved gradient_descent.png")


if __name__ == "__main__":
    main()
