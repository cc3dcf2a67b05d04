#!/usr/bin/env bash
# GPU checks for fit_many and the closed-form derivative passes, as one script on a
# lent GPU machine (jax with CUDA, optax and scipy preinstalled there). Results land
# in $OUT (or ./gpu_out).
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
out=${OUT:-gpu_out}; mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import jax, optax, scipy; print(jax.__version__, jax.devices(), optax.__version__, scipy.__version__)"
timeout 200 python3 benchmarks/bench_many.py --loop-seconds 2 \
  --out-prefix "$out/bench_many_results_gpu" 2>&1 | tee "$out/bench_many.log"
timeout 200 python3 benchmarks/bench_scale.py --families weibull student_t --sizes 1e5 1e6 1e7 1e8 \
  --repeat 2 --out-prefix "$out/bench_scale_results_gpu_c" 2>&1 | tee "$out/bench_c.log"
timeout 60 python3 -m pytest -q -x -p no:cacheprovider tests/test_many.py \
  -k "weibull_batch or float32 or bad_datasets or ragged" 2>&1 | tail -5 | tee "$out/pytest_gpu.txt"
