#!/usr/bin/env bash
# The GPU checks, run as one script on a lent GPU machine (jax with CUDA, optax and
# scipy preinstalled there): the demo, bench_fit in float32 and float64, and the
# float32 / fit tests. Results land in $OUT (or ./gpu_out).
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
out=${OUT:-gpu_out}; mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import jax, optax, scipy; print(jax.__version__, jax.devices(), optax.__version__, scipy.__version__)"
python3 -m jaxmle.cli demo 2>&1 | tee "$out/demo_gpu.txt"
for dt in float32 float64; do
  python3 benchmarks/bench_fit.py --dtype "$dt" --sizes 100000 1000000 10000000 \
    --out "$out/bench_fit_results_gpu_$dt.md" 2>&1 | tee "$out/bench_$dt.log"
done
timeout 240 python3 -m pytest -q -x -p no:cacheprovider tests/test_normal.py tests/test_fit.py \
  2>&1 | tee "$out/pytest_gpu.txt"
