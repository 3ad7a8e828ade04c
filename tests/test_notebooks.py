"""The five seed notebooks under examples/notebooks/: committed without outputs, and each one runs
top to bottom (its assertions check fastcalc against the analytic results).  Needs the
``notebooks`` extra (nbclient, nbformat, ipykernel); .ci/notebooks.sh runs this file."""
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "examples" / "notebooks"
NAMES = ["gradients_and_derivatives", "chain_rule_backpropagation", "taylor_series_approximation",
         "hessian_and_curvature", "integration_examples"]


def test_all_five_seed_notebooks_are_there():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: strip outputs"
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= 4, f"{name}: explain in text cells"
    assert any("assert" in c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, tmp_path):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    env_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                         resources={"metadata": {"path": str(tmp_path)}})
        client.execute()
    finally:
        if env_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backend
    out_dir = os.environ.get("FASTCALC_ARTIFACTS")
    if out_dir:        # keep the executed notebook (with its figures) as a CI artifact
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, Path(out_dir) / f"{name}.ipynb")
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                 for o in c.outputs)
    assert images >= 1, f"{name} drew no figure"
