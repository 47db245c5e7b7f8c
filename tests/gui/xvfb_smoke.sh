#!/usr/bin/env bash
# A real window under Xvfb: start the release binary with no token and a fresh data directory,
# give it one file on the command line, drop a second one with a real XDND drag source, wait until
# the embedded service has stored both, take a screenshot and check that it is not blank.
# Usage: tests/gui/xvfb_smoke.sh [SCREENSHOT.png]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${CARGO_TARGET_DIR:-target}/release/groupme-uploader
shot=${1:-${CARGO_TARGET_DIR:-target}/xvfb-smoke.png}
[ -x "$bin" ] || { echo "build it first: cargo build --release" >&2; exit 1; }

work=$(mktemp -d)
display=:$((90 + RANDOM % 9))
cleanup() {
  [ -n "${app:-}" ] && kill "$app" 2>/dev/null || true
  [ -n "${xvfb:-}" ] && kill "$xvfb" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

convert -size 800x500 gradient:'#1e88e5'-'#ffb300' "$work/sunset gradient.png"
cp tests/corpus/jpg/portrait_2.jpg "$work/portrait.jpg"

Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
for _ in $(seq 50); do xdpyinfo -display "$display" >/dev/null 2>&1 && break; sleep 0.1; done

export DISPLAY=$display XDG_RUNTIME_DIR=$work/run
unset WAYLAND_DISPLAY
mkdir -m 700 -p "$XDG_RUNTIME_DIR" "$work/home"
# Isolated as tests/common/isolated.rs isolates: no GM_* (a real token would upload to GroupMe),
# no proxy, no session bus (so no real keyring), HOME and XDG directories in the work dir.
env -i PATH="$PATH" DISPLAY="$DISPLAY" XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" HOME="$work/home" \
  XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share" \
  XDG_CACHE_HOME="$work/home/.cache" \
  "$bin" gui --data-dir "$work/data" "$work/sunset gradient.png" >"$work/app.log" 2>&1 &
app=$!

for _ in $(seq 100); do
  xdotool search --name "GroupMe Uploader" >/dev/null 2>&1 && break
  kill -0 "$app" 2>/dev/null || { cat "$work/app.log"; echo "the app exited" >&2; exit 1; }
  sleep 0.2
done
sleep 1
/usr/bin/python3 tests/gui/xdnd_drop.py --name "GroupMe Uploader" "$work/portrait.jpg"

history=$work/data/data/history.jsonl
for _ in $(seq 150); do
  [ -f "$history" ] && [ "$(grep -c . "$history")" -ge 2 ] && break
  sleep 0.2
done
lines=$( [ -f "$history" ] && grep -c . "$history" || echo 0)
originals=$(find "$work/data/data/service" -type f ! -name '*.preview' ! -name '*.large' ! -name '*.avatar' ! -name '*#*' | wc -l)
sleep 1.5 # let the service thumbnails load into the window
wid=$(xdotool search --name "GroupMe Uploader" | head -1)
import -display "$display" -window "$wid" "$shot"
colors=$(identify -format '%k' "$shot")
echo "history entries: $lines, stored originals: $originals, screenshot colours: $colors"
[ "$lines" -ge 2 ] || { cat "$work/app.log"; echo "FAIL: expected 2 uploads in the history" >&2; exit 1; }
[ "$originals" -ge 2 ] || { echo "FAIL: expected 2 pictures in the embedded service" >&2; exit 1; }
[ "$colors" -ge 50 ] || { echo "FAIL: the window looks blank ($colors colours)" >&2; exit 1; }
echo "xvfb: 1 passed, 0 failed"
