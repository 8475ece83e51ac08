#!/usr/bin/env bash
# From a fresh clone: install nbrealtime with JupyterLab (the editable install builds the widgets with npm) and open
# JupyterLab on the quickstart notebook with the embedded server running (started by nbrealtime's Jupyter server
# extension). Ctrl+C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[demo]"
exec nbrealtime demo "$@"
