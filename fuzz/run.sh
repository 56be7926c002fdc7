#!/usr/bin/env bash
# Runs one fuzz target for a while (default 600 s) with the limits the
# README's figures were taken with; the stable toolchain needs
# RUSTC_BOOTSTRAP=1 for cargo fuzz's -Z flags.
#   fuzz/run.sh TARGET [SECONDS]
# New inputs go to $FUZZ_WORK/corpus/TARGET (the committed seeds in
# fuzz/corpus/TARGET are only read), crashes to $FUZZ_WORK/artifacts/TARGET,
# the log to $FUZZ_WORK/logs/TARGET.log; FUZZ_WORK defaults to fuzz/work
# (git-ignored).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="$1"
seconds="${2:-600}"
work="${FUZZ_WORK:-$here/work}"
mkdir -p "$work/corpus/$target" "$work/artifacts/$target" "$work/logs"
# The photo target reads whole photos; the others take small bodies.
case "$target" in
    photo) malloc_mb=256 ;;
    *) malloc_mb=64 ;;
esac
dict=()
[ -f "$here/dict/$target.dict" ] && dict=("-dict=$here/dict/$target.dict")
[ "$target" = photo ] && [ ! -e "$here/corpus/photo/no_exif.jpg" ] && "$here/seed.sh"
mkdir -p "$here/corpus/$target"
cd "$here"
RUSTC_BOOTSTRAP=1 cargo fuzz run ${FUZZ_TARGET_DIR:+--target-dir "$FUZZ_TARGET_DIR"} "$target" \
    "$work/corpus/$target" "$here/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb="$malloc_mb" -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/$target/" "${dict[@]}" \
    2>&1 | tee "$work/logs/$target.log"
