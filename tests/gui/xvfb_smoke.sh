#!/usr/bin/env bash
# A real window under Xvfb: start the release binary with no token and a fresh data directory,
# give it one file on the command line, drop a second one with a real XDND drag source, wait until
# the embedded service has stored both, then check exactly: the history holds the two names, the
# service holds two originals, each byte for byte the source with its metadata removed (as
# `tests/gui/strip_metadata.rs` removes it), and each served at its history URL; finally a
# screenshot that is not blank.
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
# What the app must store for each: the source with its metadata removed ("Remove location…"
# is on by default). Both sources carry some (ImageMagick's date chunks, the JPEG's EXIF).
mkdir "$work/expected"
cargo build --quiet --example strip_metadata
strip_metadata=${CARGO_TARGET_DIR:-target}/debug/examples/strip_metadata
for name in "sunset gradient.png" portrait.jpg; do
  "$strip_metadata" "$work/$name" "$work/expected/$name"
  cmp -s "$work/$name" "$work/expected/$name" && { echo "FAIL: $name has no metadata to remove" >&2; exit 1; }
done

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
fail() { cat "$work/app.log"; echo "FAIL: $*" >&2; exit 1; }
[ -f "$history" ] || fail "no history written"
[ "$(grep -c . "$history")" -eq 2 ] || fail "expected exactly 2 history entries: $(cat "$history")"
# Both names, the dropped file's included, one entry each.
names=$(jq -r .name "$history" | sort | paste -sd '|')
[ "$names" = "portrait.jpg|sunset gradient.png" ] || fail "history names: $names"
# Exactly two originals stored, each the stripped source, and each served at its history URL.
mapfile -t originals < <(find "$work/data/data/service" -type f ! -name '*.preview' ! -name '*.large' ! -name '*.avatar' ! -name '*#*')
[ "${#originals[@]}" -eq 2 ] || fail "expected 2 stored originals: ${originals[*]}"
while IFS=$'\t' read -r name url; do
  expected="$work/expected/$name"
  matched=0
  for stored in "${originals[@]}"; do cmp -s "$stored" "$expected" && matched=1; done
  [ "$matched" -eq 1 ] || fail "$name: no stored original equals its stripped bytes"
  case "$url" in http://127.0.0.1:*) ;; *) fail "$name: not a local URL: $url" ;; esac
  curl -sf --noproxy '*' -o "$work/served" "$url" || fail "$name: $url not served"
  cmp -s "$work/served" "$expected" || fail "$name: $url serves other bytes"
done < <(jq -r '[.name, .url] | @tsv' "$history")
sleep 1.5 # let the service thumbnails load into the window (only for the screenshot)
wid=$(xdotool search --name "GroupMe Uploader" | head -1)
import -display "$display" -window "$wid" "$shot"
colors=$(identify -format '%k' "$shot")
echo "history: $names; stored originals equal the stripped sources; screenshot colours: $colors"
# A sanity check of the picture only: a blank or unrendered window has a handful of colours.
[ "$colors" -ge 50 ] || fail "the window looks blank ($colors colours)"
echo "xvfb: 1 passed, 0 failed"
