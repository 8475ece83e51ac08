#!/usr/bin/env bash
# Install everything the project needs on a fresh machine (idempotent): the Python package with its test extras (the
# editable install runs npm on js/ and labextension/ to build the widget bundles and the JupyterLab extension), the JS
# interop-test dependencies, and Debian's PostgreSQL 15 server binaries and Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
# A link left by an earlier run's `jupyter labextension develop` stands where pip's record of the previous install
# lists files: pip would fail to uninstall through it, so it goes first (the last step below makes it again).
linked="$(python -c 'import sys; print(sys.prefix)')/share/jupyter/labextensions/@nbrealtime/labextension"
if [ -L "$linked" ]; then rm "$linked"; fi
python -m pip install --quiet --disable-pip-version-check -e ".[test]"
npm ci --no-audit --no-fund --loglevel=error
# The editable install builds the bundles only where none exist: rebuild so a checkout never runs stale ones.
npm --prefix js ci --no-audit --no-fund --loglevel=error
npm --prefix js run --silent build >/dev/null
# The JupyterLab extension (labextension/ → src/nbrealtime/labextension), linked into Jupyter's path so that a rebuild
# (npm --prefix labextension run build) is what JupyterLab loads next time, as `jupyter labextension develop` does.
npm --prefix labextension ci --no-audit --no-fund --loglevel=error
npm --prefix labextension run --silent build >/dev/null
jupyter labextension develop --overwrite . >/dev/null
# PostgreSQL 15 server binaries: the migration for hosted Supabase is tested on a real cluster.
if ! [ -x "$(pg_config --bindir 2>/dev/null)/initdb" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
fi
# Chromium for tests/browser (Playwright drives Debian's build; its own browser download is not reachable).
if ! [ -x /usr/bin/chromium ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
