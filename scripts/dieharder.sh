#!/usr/bin/env bash
# The raw Philox stream through dieharder's whole battery (`dieharder -a`), as docs/testing.md reports.
# Not part of CI: it takes the better part of an hour on 2 cores.
#
#   apt-get install -y dieharder
#   scripts/dieharder.sh [SEED] [STREAM] > report.txt
set -euo pipefail
cd "$(dirname "$0")/.."
seed="${1:-42}"
stream="${2:-0}"
cargo build --release --locked --quiet
# More words than dieharder reads; `nninit stream` ends quietly when dieharder closes the pipe.
./target/release/nninit stream --seed "$seed" --stream "$stream" --count 4611686018427387904 |
    dieharder -a -g 200
