"""notebooks/08_other_frameworks.ipynb in a real kernel: each framework pauses, shows its
widget, is decided from code, and every decision lands in the one log."""

from __future__ import annotations

import pathlib

import nbformat
from nbclient import NotebookClient

PATH = pathlib.Path(__file__).parents[1] / "notebooks" / "08_other_frameworks.ipynb"
WIDGET = "application/vnd.jupyter.widget-view+json"


def test_the_other_frameworks_notebook_reviews_each_framework_in_a_real_kernel():
    nb = nbformat.read(PATH, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(PATH.parent)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    # each framework's review(...) cell displays the review widget
    reviews = [c for c in code if ".review(" in c.source]
    assert len(reviews) == 3
    for cell in reviews:
        assert [WIDGET in o.get("data", {}) for o in cell.outputs].count(True) == 1
    text = "".join(o.get("text", "") for c in code for o in c.outputs
                   if o.output_type == "stream" and o.name == "stdout")
    # approved once, edited to 90.0 once, approved in the running team once; 977 refused
    assert "refunds so far: [(1042, 80.0), (5120, 90.0), (3301, 35.0)]" in text
    assert "refused: invalid edit of amount: 'a lot' is not of type 'number'" in text
    assert "OK: 5 entries, hash chain intact" in text
    assert "decisions per framework: {'autogen': 2, 'openai_agents': 2, 'pydantic_ai': 1}" in text
