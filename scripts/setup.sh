#!/usr/bin/env bash
# Set up hitl_nb from nothing: a .venv with the package and every extra the notebooks and
# tests use. Idempotent and quick when already done. Needs only Python >= 3.11.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -c 'import sys; assert sys.version_info >= (3, 11), "hitl_nb needs Python 3.11+"'
  "$PY" -m venv .venv
fi
stamp=.venv/.hitl_nb-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[test]"
  touch "$stamp"
fi
