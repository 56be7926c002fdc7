#!/usr/bin/env bash
# The one command that runs every test of the project, on a fresh machine of
# this kind too: it installs what the tests need, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the Rust tests call: exiftool checks that renditions carry
# no private metadata; chromium runs the console's browser test, with a CJK
# font so that its screenshots show Chinese rather than boxes; libssl-dev
# for the build.
need=()
command -v exiftool >/dev/null || need+=(libimage-exiftool-perl)
command -v chromium >/dev/null || need+=(chromium)
fc-list 2>/dev/null | grep -qi "WenQuanYi Micro Hei" || need+=(fonts-wqy-microhei)
# SQLCipher (the device's encrypted store) links the system's libcrypto.
[ -f /usr/include/openssl/evp.h ] || need+=(libssl-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
# The server's PostgreSQL backend is tested on a throwaway cluster that the
# tests start themselves (initdb, pg_ctl): Debian's postgresql brings them,
# and the `postgres` user they run it as when the tests run as root.
{ command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } && id postgres >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Python readers check the ledgers (openpyxl) and the bench's spreadsheet
# anchor is XlsxWriter.
python3 -c "import openpyxl, xlsxwriter" 2>/dev/null || pip install --quiet openpyxl XlsxWriter
# The S3 photo store is tested against moto's S3 server, which enforces
# conditional writes as S3 does (the tests start it themselves).
python3 -c "import moto.server" 2>/dev/null || pip install --quiet 'moto[server]==5.2.1'

# playwright-core drives that chromium (the version pinned by the lock file).
npm ci --prefix sync-server/tests/console --no-audit --no-fund --loglevel=error

# The house rules first: formatted, and no lint left (a warning fails).
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

cargo test --workspace --locked

# Schemathesis against the server's OpenAPI document with a token of every
# role (installs its pinned version with pip when missing).
bash tests/schemathesis/run.sh

# The bindings as an app developer meets them: generated Python (pytest,
# against a real server), a Kotlin program built with kotlinc, Swift checks.
# The script installs pytest, a JRE, JNA and kotlinc when they are missing.
bash bindings/tests/run.sh
