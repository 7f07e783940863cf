#!/usr/bin/env bash
# Install genviz and start it on its embedded default data (no download needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install.sh "[video]"
exec "${PYTHON:-python3}" -m genviz "$@"
