#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, one after another, with the committed
# seeds, and prints libFuzzer's final statistics line per target.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
for target in cbor_request json_request search_expressions sdk5_frame rule_set; do
    mkdir -p "corpus/$target"
    cargo +nightly fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        > "artifacts-$target.log" 2>&1 || { echo "$target: FAILED (see fuzz/artifacts-$target.log)"; exit 1; }
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "artifacts-$target.log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]*' "artifacts-$target.log" | tail -1)
    echo "$target: ${seconds}s, ${runs} runs, ${cov}, corpus $(ls "corpus/$target" | wc -l) inputs, no findings"
done
