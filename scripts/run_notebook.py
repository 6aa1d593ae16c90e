"""Execute notebooks headless in a real kernel (nbclient) and print what they printed.

    python scripts/run_notebook.py notebooks/00_quickstart.ipynb [more.ipynb ...]

Exits non-zero, naming the cell, if any cell raises. The executed copy is not written
back: notebooks stay output-free in git.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def run(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    client = NotebookClient(nb, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        print(f"FAILED {path}: {exc}", file=sys.stderr)
        return 1
    widgets = 0
    print(f"== {path}")
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                print(output["text"], end="")
            if "application/vnd.jupyter.widget-view+json" in output.get("data", {}):
                widgets += 1
    code_cells = sum(c.cell_type == "code" for c in nb.cells)
    print(f"== executed {code_cells} code cells in {time.perf_counter() - started:.1f}s, "
          f"{widgets} widget outputs")
    return 0


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or [Path("notebooks/00_quickstart.ipynb")]
    sys.exit(max(run(p) for p in paths))
