"""Every notebook runs top to bottom headless in a real kernel and is stored without outputs."""

from __future__ import annotations

import nbformat
import pytest
from _notebooks import FOLDER, WIDGET, executed, outputs, printed

NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:1] == ["00_quickstart.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes_headless(path):
    shown = outputs(executed(path.name))
    assert not [o for o in shown if o.output_type == "error"]
    assert any(WIDGET in o.get("data", {}) for o in shown)


def test_quickstart_decides_and_logs():
    text = printed(executed("00_quickstart.ipynb"), stream=None)
    assert "refund executed with: [{'order': 1042, 'amount': 60.0" in text
    assert "status: done" in text
    assert "OK: 2 entries, hash chain intact" in text
    assert "not sent: wait until the refund has cleared" in text
    assert "answer: {'name': 'Ada Lovelace'}" in text
    assert "decisions logged: 4" in text
