#!/usr/bin/env bash
# Run every test on a fresh machine: installs what the tests need, then lint + the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
ruff check src tests bench
ruff format --check src tests bench
python -m pytest "$@"
