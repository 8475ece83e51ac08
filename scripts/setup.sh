#!/usr/bin/env bash
# Install everything the project needs: Python package with test extras, JS dependencies and the JS bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[test]"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; fi
# PostgreSQL 15 server binaries: the migration for hosted Supabase is tested on a real cluster.
if ! [ -x "$(pg_config --bindir 2>/dev/null)/initdb" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
fi
