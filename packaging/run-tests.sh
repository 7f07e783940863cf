#!/usr/bin/env bash
# Install genviz with its test dependencies and run the test suite headless (no display needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install.sh "[test]"
# Qt's offscreen platform needs these system libraries on a bare Debian/Ubuntu (best effort).
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && ! ldconfig -p | grep -q libEGL.so.1; then
  (apt-get update -qq && apt-get install -y -qq libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3) >/dev/null 2>&1 || true
fi
# the desktop files' validators (tests/test_desktop.py: appstreamcli, desktop-file-validate; best effort)
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && ! command -v appstreamcli >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq appstream desktop-file-utils) >/dev/null 2>&1 || true
fi
export QT_QPA_PLATFORM=offscreen QT_API=pyside6
exec "${PYTHON:-python3}" -m pytest -q "$@"
