#!/usr/bin/env bash
# Re-execute the demo notebooks against a fresh embedded server and store their outputs (nbval compares them).
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir=$(mktemp -d)
pid=$(python -c "from nbrealtime.launcher import start_server; from pathlib import Path; print(start_server(Path('$data_dir'), detached=True).process.pid)")
trap 'kill "$pid" 2>/dev/null; rm -rf "$data_dir"' EXIT
export NBREALTIME_DATA_DIR="$data_dir"
unset SUPABASE_URL SUPABASE_ANON_KEY NBREALTIME_USER
for notebook in notebooks/*.ipynb; do
  jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=120 "$notebook"
done
# Widget state (bundles included) would bloat the notebooks; views are rebuilt from the kernel anyway.
python - <<'PY'
import glob
import nbformat
for path in glob.glob("notebooks/*.ipynb"):
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, path)
PY
