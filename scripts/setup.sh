#!/usr/bin/env bash
# Install everything the project needs: Python package with test extras, JS dependencies and the JS bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[test]"
