"""The README's Python examples run, in order, as written (so the tour stays true)."""
import pathlib
import re
import warnings

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.skipif(not README.exists(), reason="README.md is not beside the tests")
def test_readme_python_blocks_run():
    pytest.importorskip("numba")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 5
    ns = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, code in enumerate(blocks):
            try:
                exec(compile(code, f"README.md block {i}", "exec"), ns)
            except Exception as exc:  # pragma: no cover - the message names the block
                raise AssertionError(f"README python block {i} failed: {exc!r}\n{code}") from exc
