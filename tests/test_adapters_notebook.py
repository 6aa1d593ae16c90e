"""notebooks/08_other_frameworks.ipynb in a real kernel: each framework pauses, shows its
widget, is decided from code, and every decision lands in the one log."""

from __future__ import annotations

from _notebooks import WIDGET, executed, printed


def test_the_other_frameworks_notebook_reviews_each_framework_in_a_real_kernel():
    nb = executed("08_other_frameworks.ipynb")
    code = [c for c in nb.cells if c.cell_type == "code"]
    # each framework's review(...) cell displays the review widget
    reviews = [c for c in code if ".review(" in c.source]
    assert len(reviews) == 3
    for cell in reviews:
        assert [WIDGET in o.get("data", {}) for o in cell.outputs].count(True) == 1
    text = printed(nb)
    # approved once, edited to 90.0 once, approved in the running team once; 977 refused
    assert "refunds so far: [(1042, 80.0), (5120, 90.0), (3301, 35.0)]" in text
    assert "refused: invalid edit of amount: 'a lot' is not of type 'number'" in text
    assert "OK: 5 entries, hash chain intact" in text
    assert "decisions per framework: {'autogen': 2, 'openai_agents': 2, 'pydantic_ai': 1}" in text
