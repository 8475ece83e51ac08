#!/usr/bin/env bash
# Run every test on a fresh machine: install what the tests need, lint, the JS unit tests, then the pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
ruff check src tests bench
ruff format --check src tests bench
npm --prefix js test --silent
python -m pytest --nbval --nbval-sanitize-with notebooks/sanitize.cfg tests notebooks "$@"
