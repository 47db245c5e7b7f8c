#!/usr/bin/env bash
# Builds the .deb from the release binary (`cargo deb --no-build`) and checks it as an installer
# would see it: metadata and dependencies (`dpkg-deb -I`), every file in place (`dpkg-deb -c`),
# the desktop entry valid and offered for the four image types, and the unpacked binary runs.
# Usage: tests/package/check_deb.sh   (after `cargo build --release`; needs cargo-deb,
# dpkg-dev and desktop-file-utils)
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
fail() { echo "package check failed: $*" >&2; exit 1; }

desktop-file-validate assets/groupme-uploader.desktop
grep -qx 'MimeType=image/jpeg;image/png;image/gif;image/webp;' assets/groupme-uploader.desktop \
  || fail "the desktop entry does not offer the four image types"
grep -qx 'Exec=groupme-uploader gui %F' assets/groupme-uploader.desktop \
  || fail "the desktop entry does not open files with 'gui'"

rm -rf "$target/debian"
deb=$(cargo deb --no-build --output "$target/debian/" | tail -n 1)
[ -f "$deb" ] || fail "cargo deb made no package ($deb)"
echo "built $deb ($(du -h "$deb" | cut -f1))"

info=$(dpkg-deb -I "$deb")
echo "$info" | grep -q '^ Package: groupme-uploader$' || fail "package name: $info"
echo "$info" | grep -q '^ Architecture: amd64$' || fail "architecture: $info"
depends=$(echo "$info" | sed -n 's/^ Depends: //p')
echo "Depends: $depends"
case "$depends" in
  *libc6*) ;;
  *) fail "Depends lacks libc6: $depends" ;;
esac
for heavy in libgtk libqt python; do
  case "$depends" in *"$heavy"*) fail "Depends pulls in $heavy: $depends" ;; esac
done
echo "$info" | grep -q '^ Recommends: .*libgl1' || fail "Recommends lacks the GL library"

files=$(dpkg-deb -c "$deb" | awk '{print $6}')
want=(
  ./usr/bin/groupme-uploader
  ./usr/share/applications/groupme-uploader.desktop
  ./usr/share/icons/hicolor/scalable/apps/groupme-uploader.svg
  ./usr/share/doc/groupme-uploader/LICENSE-MIT
  ./usr/share/doc/groupme-uploader/LICENSE-APACHE
  ./usr/share/doc/groupme-uploader/copyright
)
for n in 16 24 32 48 64 128 256 512; do
  want+=("./usr/share/icons/hicolor/${n}x${n}/apps/groupme-uploader.png")
done
for f in "${want[@]}"; do
  echo "$files" | grep -qx "$f" || fail "missing $f"
done
dpkg-deb -c "$deb" | grep -q '^-rwxr-xr-x .* ./usr/bin/groupme-uploader$' || fail "the binary is not executable"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg -x "$deb" "$root"
version=$("$root/usr/bin/groupme-uploader" --version)
[ "$version" = "groupme-uploader $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)" ] \
  || fail "the unpacked binary says: $version"
cmp "$root/usr/share/applications/groupme-uploader.desktop" assets/groupme-uploader.desktop
echo "package ok: ${#want[@]} files in place, $version runs from the unpacked package"
