#!/usr/bin/env bash
# Command 2: set up from nothing (Python venv + Debian chromium for the browser suite),
# then run the whole test suite: unit, notebooks, and real JupyterLab / Notebook 7 in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi
.venv/bin/ruff check hitl_nb tests benchmarks scripts notebooks
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
