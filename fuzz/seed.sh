#!/usr/bin/env bash
# Copies the photo seeds in from tests/testdata (the real camera photos and
# the hostile files), so that the repository does not hold them twice.
# Files over 200 KB are cut to their first 64 KiB: the header, the EXIF
# block and the start of the scan, which is what the photo target's own
# code reads; a whole 1 MB photo would only slow every mutation down.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/corpus/photo"
mkdir -p "$out"
for file in "$here"/../tests/testdata/photos/* "$here"/../tests/testdata/bad/*; do
    case "$file" in *.md | *.json | *.py) continue ;; esac
    name="$(basename "$file")"
    if [ "$(stat -c %s "$file")" -gt 200000 ]; then
        head -c 65536 "$file" >"$out/head64k_$name"
    else
        cp "$file" "$out/$name"
    fi
done
echo "photo seeds: $(ls "$out" | wc -l) files in $out"
