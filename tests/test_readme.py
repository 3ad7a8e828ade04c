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


@pytest.mark.skipif(not README.exists(), reason="README.md is not beside the tests")
def test_readme_links_resolve_in_a_clone():
    """Every relative link of the README points to a file of the repository (not outside it)."""
    root = README.parent
    text = README.read_text()
    links = re.findall(r"\]\(([^)#\s]+)", text)
    for link in links:
        if "://" in link or link.startswith("mailto:"):
            continue
        target = (root / link).resolve()
        assert target.is_relative_to(root) and target.exists(), f"broken README link {link!r}"
    assert "../" not in text, "the README refers to a file outside the repository"


@pytest.mark.skipif(not README.exists(), reason="README.md is not beside the tests")
def test_readme_bench_table_fits_100_columns_and_speaks_to_users():
    text = README.read_text()
    block = re.search(r"<!-- bench-table -->\n```text\n(.*?)```", text, flags=re.S)
    assert block, "the README's bench table (<!-- bench-table --> text block) is missing"
    table = block.group(1)
    assert max(len(ln) for ln in table.splitlines()) <= 100
    for word in ("SciPy", "speed-up", "target"):
        assert word in table
    assert "issue" not in table.lower()
