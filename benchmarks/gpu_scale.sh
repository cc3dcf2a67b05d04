#!/usr/bin/env bash
# Issue-4 GPU checks as one script on a lent GPU machine (jax with CUDA, optax and
# scipy preinstalled there): bench_scale per family group (so a timeout loses one
# group only) and the scale tests. Results land in $OUT (or ./gpu_out).
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
out=${OUT:-gpu_out}; mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import jax, optax, scipy; print(jax.__version__, jax.devices(), optax.__version__, scipy.__version__)"
timeout 200 python3 benchmarks/bench_scale.py --families gamma normal --sizes 1e4 1e5 1e6 1e7 1e8 \
  --out-prefix "$out/bench_scale_results_gpu_a" 2>&1 | tee "$out/bench_a.log"
timeout 230 python3 benchmarks/bench_scale.py --families weibull student_t --sizes 1e4 1e5 1e6 1e7 1e8 \
  --repeat 2 --out-prefix "$out/bench_scale_results_gpu_b" 2>&1 | tee "$out/bench_b.log"
timeout 60 python3 -m pytest -q -x -p no:cacheprovider tests/test_scale.py -k "float32 or batch_size or sufficient" \
  2>&1 | tail -5 | tee "$out/pytest_gpu.txt"
