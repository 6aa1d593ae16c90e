#!/usr/bin/env bash
# Command 1: set up, then open the quickstart notebook in JupyterLab.
#   bash scripts/quickstart.sh             # JupyterLab with notebooks/00_quickstart.ipynb
#   bash scripts/quickstart.sh --headless  # execute it in a real kernel, print what was decided
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "${1:-}" = "--headless" ]; then
  exec .venv/bin/python scripts/run_notebook.py notebooks/00_quickstart.ipynb
fi
ROOT_FLAG=""; [ "$(id -u)" -eq 0 ] && ROOT_FLAG="--allow-root"
exec .venv/bin/jupyter lab $ROOT_FLAG notebooks/00_quickstart.ipynb "$@"
