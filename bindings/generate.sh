#!/usr/bin/env bash
# Builds libsuishoupai (release) and writes the foreign bindings:
#   OUT_DIR/python/  suishoupai.py + libsuishoupai.so  (import suishoupai)
#   OUT_DIR/kotlin/  uniffi/suishoupai/suishoupai.kt   (package uniffi.suishoupai; needs JNA)
#   OUT_DIR/swift/   suishoupai.swift, suishoupaiFFI.h, suishoupaiFFI.modulemap
# Honours CARGO_TARGET_DIR. Usage: bindings/generate.sh OUT_DIR
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
case "$target" in /*) ;; *) target="$root/$target" ;; esac

cd "$root"
# One build gives the library and the generator (feature `cli`); the
# library's exported code is the same with or without the feature.
cargo build --release -p suishoupai-bindings --features cli --lib --bin uniffi-bindgen

case "$(uname -s)" in
    Darwin) lib="$target/release/libsuishoupai.dylib" ;;
    *) lib="$target/release/libsuishoupai.so" ;;
esac
bindgen="$target/release/uniffi-bindgen"

rm -rf "$out/python" "$out/kotlin" "$out/swift"
# --no-format: the formatters (ktlint, swiftformat) are not needed to use the code.
"$bindgen" generate --library "$lib" --language python --no-format --out-dir "$out/python"
cp "$lib" "$out/python/"
"$bindgen" generate --library "$lib" --language kotlin --no-format --out-dir "$out/kotlin"
"$bindgen" generate --library "$lib" --language swift --no-format --out-dir "$out/swift"

echo "bindings written to $out/{python,kotlin,swift} from $lib"
