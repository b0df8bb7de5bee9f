#!/usr/bin/env bash
# The CUDA paths on a machine with a GPU: the default width-sweep suite up to n = 65536,
# the shrinker's sync-debug test and the shrinker benchmark; prints the numbers.
#
#     bash benchmarks/gpu_check.sh                 # results in results/gpu_check/
#     PYTHON=python OUT=/tmp/gc bash benchmarks/gpu_check.sh
#
# On a machine without CUDA it stops at once with one line on stderr and exit status 2.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${OUT:-results/gpu_check}

"$PY" - <<'EOF'
import sys

import torch

if not torch.cuda.is_available():
    print(f"gpu_check: torch {torch.__version__} sees no CUDA device; run this on a machine "
          "with a GPU", file=sys.stderr)
    sys.exit(2)
p = torch.cuda.get_device_properties(0)
print(f"device: {p.name}, {p.total_memory / 2**30:.0f} GiB; torch {torch.__version__}, "
      f"CUDA {torch.version.cuda}")
EOF
mkdir -p "$OUT"
uptime

echo "== 1. default suite, widths 256 … 65536, --device cuda"
start=$(date +%s.%N)
"$PY" -m sims.width_sweep --device cuda --no-progress --out "$OUT/width_sweep" \
    --widths 256 512 1024 2048 4096 8192 16384 32768 65536 > "$OUT/width_sweep.txt"
end=$(date +%s.%N)
tail -n 1 "$OUT/width_sweep.txt"
echo "wall: $(awk "BEGIN {print $end - $start}") s (console in $OUT/width_sweep.txt)"

echo "== 2. the shrinker's sync-debug test (must pass, not skip)"
"$PY" -m pytest tests/test_stablelora_amp_sync.py -k cuda_step_passes_sync_debug_mode -q -rs \
    -p no:cacheprovider | tee "$OUT/sync_debug.txt"
grep -q "1 passed" "$OUT/sync_debug.txt"

echo "== 3. the shrinker benchmark on cuda"
"$PY" -m benchmarks.bench_shrinker --device cuda --rounds 200 --out "$OUT/bench_shrinker.csv"
uptime
