#!/usr/bin/env bash
# A real window under Xvfb: start the release binary with no token and a fresh data directory,
# give it one file on the command line; check the window's identity (WM_CLASS both parts
# `groupme-uploader`, an icon in _NET_WM_ICON); start the binary again with a second file (a
# relative path): it must hand the file to the open window and exit 0, leaving one app process;
# drop a third file with a real XDND drag source; wait until the embedded service has stored all
# three, then check exactly: the history holds the three names, the service holds three
# originals, each byte for byte the source with its metadata removed (as
# `tests/gui/strip_metadata.rs` removes it), and each served at its history URL; a screenshot
# that is not blank. Then the clipboard after exit: with auto-copy on, drop a fourth file (a batch
# of its own), close the window as a window manager does (WM_DELETE_WINDOW): `xclip` must still
# read exactly its URL (the clipboard keeper serves it, with no window shown), and the keeper must
# exit once another program copies.
# Usage: tests/gui/xvfb_smoke.sh [SCREENSHOT.png]   (SMOKE_BIN=path: another build of the binary)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${SMOKE_BIN:-${CARGO_TARGET_DIR:-target}/release/groupme-uploader}
shot=${1:-${CARGO_TARGET_DIR:-target}/xvfb-smoke.png}
[ -x "$bin" ] || { echo "build it first: cargo build --release" >&2; exit 1; }

work=$(mktemp -d)
cleanup() {
  [ -n "${app:-}" ] && kill "$app" 2>/dev/null || true
  [ -n "${keeper:-}" ] && kill "$keeper" 2>/dev/null || true
  # The xclip that took the clipboard over still serves it: stop it before its server goes.
  [ -n "${elsewhere:-}" ] && kill "$elsewhere" 2>/dev/null || true
  [ -n "${xvfb:-}" ] && kill "$xvfb" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

convert -size 800x500 gradient:'#1e88e5'-'#ffb300' "$work/sunset gradient.png"
convert -size 320x240 gradient:'#43a047'-'#fdd835' "$work/second launch.png"
convert -size 200x150 gradient:'#8e24aa'-'#00acc1' "$work/kept on the clipboard.png"
cp tests/corpus/jpg/portrait_2.jpg "$work/portrait.jpg"
# What the app must store for each: the source with its metadata removed ("Remove location…"
# is on by default). Both sources carry some (ImageMagick's date chunks, the JPEG's EXIF).
mkdir "$work/expected"
cargo build --quiet --example strip_metadata
strip_metadata=${CARGO_TARGET_DIR:-target}/debug/examples/strip_metadata
for name in "sunset gradient.png" "second launch.png" portrait.jpg; do
  "$strip_metadata" "$work/$name" "$work/expected/$name"
  cmp -s "$work/$name" "$work/expected/$name" && { echo "FAIL: $name has no metadata to remove" >&2; exit 1; }
done

# Xvfb picks a free display itself and writes its number to fd 3 once it accepts connections
# (a fixed number can be held by another server or a stale /tmp/.X*-lock on a shared machine).
# -noreset: by default Xvfb resets when its last client leaves (here xdpyinfo), and a client
# connecting during that reset is refused ("Failed to open connection to X server": CI saw it).
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp -noreset 3>"$work/displayfd" 2>"$work/xvfb.log" &
xvfb=$!
for _ in $(seq 300); do
  [ -s "$work/displayfd" ] && break
  kill -0 "$xvfb" 2>/dev/null || { cat "$work/xvfb.log" >&2; echo "FAIL: Xvfb exited" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/displayfd" ] || { cat "$work/xvfb.log" >&2; echo "FAIL: Xvfb not ready in 30 s" >&2; exit 1; }
display=:$(head -1 "$work/displayfd")
xdpyinfo -display "$display" >/dev/null || { cat "$work/xvfb.log" >&2; echo "FAIL: cannot connect to Xvfb on $display" >&2; exit 1; }

export DISPLAY=$display XDG_RUNTIME_DIR=$work/run
unset WAYLAND_DISPLAY
# What is shown before the app starts (the root window): the same must be shown after it exits.
visible_before=$(xdotool search --onlyvisible --name '' 2>/dev/null | sort | paste -sd ' ')
mkdir -m 700 -p "$XDG_RUNTIME_DIR" "$work/home"
# Isolated as tests/common/isolated.rs isolates: no GM_* (a real token would upload to GroupMe),
# no proxy, no session bus (so no real keyring), HOME and XDG directories in the work dir.
isolated=(env -i PATH="$PATH" DISPLAY="$DISPLAY" XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" HOME="$work/home"
  XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share"
  XDG_CACHE_HOME="$work/home/.cache")
# Auto-copy on (Settings): each batch's links are copied when it ends.
mkdir -p "$work/data/config"
echo '{"auto_copy": true}' >"$work/data/config/settings.json"
"${isolated[@]}" "$bin" gui --data-dir "$work/data" "$work/sunset gradient.png" >"$work/app.log" 2>&1 &
app=$!

for _ in $(seq 100); do
  xdotool search --name "GroupMe Uploader" >/dev/null 2>&1 && break
  kill -0 "$app" 2>/dev/null || { cat "$work/app.log"; echo "the app exited" >&2; exit 1; }
  sleep 0.2
done
sleep 1
fail() { cat "$work/app.log"; echo "FAIL: $*" >&2; exit 1; }
wid=$(xdotool search --name "GroupMe Uploader" | head -1)

# Identity: both parts of WM_CLASS, and an icon.
wm_class=$(xprop -display "$display" -id "$wid" WM_CLASS)
[ "$wm_class" = 'WM_CLASS(STRING) = "groupme-uploader", "groupme-uploader"' ] || fail "WM_CLASS: $wm_class"
# (xprop prints a 256x256 icon as "Icon (256 x 256):" plus a picture, or "256, 256, …" when old.)
xprop -display "$display" -len 8 -id "$wid" _NET_WM_ICON \
  | grep -qE '^_NET_WM_ICON\(CARDINAL\) = (256, 256|\s*Icon \(256 x 256\))' \
  || fail "no 256 px _NET_WM_ICON: $(xprop -display "$display" -len 8 -id "$wid" _NET_WM_ICON)"

# A second launch, from another directory with a relative path: hands it over and exits 0.
(cd "$work" && "${isolated[@]}" timeout 20 "$bin" gui --data-dir "$work/data" "second launch.png") \
  >"$work/second.log" 2>&1 || fail "the second launch failed: $(cat "$work/second.log")"
grep -qx "GroupMe Uploader is already open: handed it 1 item and raised it" "$work/second.log" \
  || fail "the second launch said: $(cat "$work/second.log")"
kill -0 "$app" 2>/dev/null || fail "the first window exited"
running=$(pgrep -fc -- "--data-dir $work/data" || true)
[ "$running" -eq 1 ] || fail "expected one app process, found $running"

/usr/bin/python3 tests/gui/xdnd_drop.py --name "GroupMe Uploader" "$work/portrait.jpg"

history=$work/data/data/history.jsonl
for _ in $(seq 150); do
  [ -f "$history" ] && [ "$(grep -c . "$history")" -ge 3 ] && break
  sleep 0.2
done
[ -f "$history" ] || fail "no history written"
[ "$(grep -c . "$history")" -eq 3 ] || fail "expected exactly 3 history entries: $(cat "$history")"
# All three names, the handed-over and the dropped file's included, one entry each: the first
# window uploaded them all.
names=$(jq -r .name "$history" | sort | paste -sd '|')
[ "$names" = "portrait.jpg|second launch.png|sunset gradient.png" ] || fail "history names: $names"
# Exactly three originals stored, each the stripped source, and each served at its history URL.
mapfile -t originals < <(find "$work/data/data/service" -type f ! -name '*.preview' ! -name '*.large' ! -name '*.avatar' ! -name '*#*')
[ "${#originals[@]}" -eq 3 ] || fail "expected 3 stored originals: ${originals[*]}"
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
import -display "$display" -window "$wid" "$shot"
colors=$(identify -format '%k' "$shot")
echo "WM_CLASS and icon set; the second launch handed over and exited; one process"
echo "history: $names; stored originals equal the stripped sources; screenshot colours: $colors"
# A sanity check of the picture only: a blank or unrendered window has a handful of colours.
[ "$colors" -ge 50 ] || fail "the window looks blank ($colors colours)"

# The clipboard after exit. A fourth file, alone in its batch: auto-copy copies exactly its URL.
/usr/bin/python3 tests/gui/xdnd_drop.py --name "GroupMe Uploader" "$work/kept on the clipboard.png"
for _ in $(seq 150); do
  [ "$(grep -c . "$history")" -ge 4 ] && break
  sleep 0.2
done
kept_url=$(tail -1 "$history" | jq -r .url)
[ "$(tail -1 "$history" | jq -r .name)" = "kept on the clipboard.png" ] || fail "no fourth upload: $(cat "$history")"
clip() { timeout 5 xclip -o -selection clipboard 2>/dev/null || true; }
for _ in $(seq 50); do
  [ "$(clip)" = "$kept_url" ] && break
  sleep 0.2
done
[ "$(clip)" = "$kept_url" ] || fail "auto-copy: the clipboard holds '$(clip)', not $kept_url"
# Close it as a window manager's close button does.
/usr/bin/python3 - "$wid" <<'PY'
import sys
from Xlib import X, display, protocol
d = display.Display()
w = d.create_resource_object("window", int(sys.argv[1]))
close = protocol.event.ClientMessage(
    window=w, client_type=d.intern_atom("WM_PROTOCOLS"),
    data=(32, [d.intern_atom("WM_DELETE_WINDOW"), X.CurrentTime, 0, 0, 0]))
w.send_event(close, event_mask=X.NoEventMask)
d.flush()
PY
for _ in $(seq 100); do
  kill -0 "$app" 2>/dev/null || break
  sleep 0.2
done
kill -0 "$app" 2>/dev/null && fail "the window did not close within 20 s"
wait "$app" || fail "the app exited with $?"
app=
after=$(clip)
[ "$after" = "$kept_url" ] || fail "after exit the clipboard holds '$after', not $kept_url"
# This run's keeper: the one started with this run's HOME (other runs may have theirs).
keeper=
for pid in $(pgrep -f -- "groupme-uploader clipboard-keeper" || true); do
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "HOME=$work/home" && keeper=$pid
done
[ -n "$keeper" ] || fail "no clipboard keeper runs"
# It holds only its own X connection: none of the app's sockets (the local service's port).
sockets=$(find "/proc/$keeper/fd" -lname 'socket:*' | wc -l)
[ "$sockets" -le 1 ] || fail "the keeper holds $sockets sockets: $(ls -l "/proc/$keeper/fd")"
visible=$(xdotool search --onlyvisible --name '' 2>/dev/null | sort | paste -sd ' ')
[ "$visible" = "$visible_before" ] || fail "windows shown after exit: $visible (before the app: $visible_before); the keeper must show none"
# Another program copies: the keeper lets go and exits.
# (-quiet: xclip stays in the foreground, so its pid is known and cleanup stops it.)
printf 'copied elsewhere' | xclip -quiet -selection clipboard >/dev/null 2>&1 &
elsewhere=$!
for _ in $(seq 50); do
  kill -0 "$keeper" 2>/dev/null || break
  sleep 0.2
done
kill -0 "$keeper" 2>/dev/null && fail "the clipboard keeper outlived its ownership"
[ "$(clip)" = "copied elsewhere" ] || fail "the clipboard holds '$(clip)' after another copy"
echo "clipboard after exit: exactly $kept_url, no window shown; the keeper exited on the next copy"
echo "xvfb: 1 passed, 0 failed"
