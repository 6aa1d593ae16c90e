"""Run each notebook once per test session in a real kernel; tests read its outputs.

Several tests check one notebook (that it runs, that it shows what it says); executing it
once and sharing the result keeps the suite fast without weakening any of them.
"""

from __future__ import annotations

import functools
import pathlib
from typing import Any

import nbformat
from nbclient import NotebookClient

FOLDER = pathlib.Path(__file__).parents[1] / "notebooks"
WIDGET = "application/vnd.jupyter.widget-view+json"


@functools.cache
def executed(name: str) -> Any:
    """The notebook `notebooks/<name>` after running top to bottom (a failure raises, and
    is not cached: the next test runs it again and fails the same way)."""
    path = FOLDER / name
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def outputs(nb: Any) -> list[Any]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def printed(nb: Any, stream: str | None = "stdout") -> str:
    """What the notebook's code cells wrote to `stream` (None: stdout and stderr)."""
    return "".join(o.get("text", "") for o in outputs(nb)
                   if o.output_type == "stream" and stream in (None, o.get("name")))
