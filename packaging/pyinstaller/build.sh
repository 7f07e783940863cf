#!/usr/bin/env bash
# Build the one-folder application with PyInstaller, then check it: start it offscreen, train the GAN lab for a
# few seconds in its real window (a spawned worker process of the frozen executable) and exit 0.
# Prints the folder's size and the start and run times. Usage: bash packaging/pyinstaller/build.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-build/pyinstaller}"
PY="${PYTHON:-python3}"
"$PY" -m pip install -q "pyinstaller>=6.10"
t0=$(date +%s)
"$PY" -m PyInstaller --noconfirm --log-level WARN --distpath "$OUT/dist" --workpath "$OUT/work" packaging/pyinstaller/genviz.spec
t1=$(date +%s)
APP="$OUT/dist/genviz/genviz"
echo "build: $((t1 - t0)) s; size: $(du -sh "$OUT/dist/genviz" | cut -f1)"
s0=$(date +%s.%N)
"$APP" labs >/dev/null
s1=$(date +%s.%N)
echo "start (genviz labs): $(echo "$s1 - $s0" | bc) s"
export QT_QPA_PLATFORM=offscreen
"$APP" train gan --steps 300 --quiet --out "$OUT/check-train" | tail -c 120
out=$("$APP" --lab gan --play --quit-after 10 | tail -1)
echo "window, 10 s: $out"
"$PY" -c "import json, sys; r = json.loads(sys.argv[1]); sys.exit(0 if r['lab'] == 'gan' and r['step'] > 0 else 1)" "$out"
echo "the built app trained headless and in its window: OK"
