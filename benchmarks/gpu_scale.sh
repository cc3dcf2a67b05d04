#!/usr/bin/env bash
# Issue-4 GPU checks as one script on a lent GPU machine (jax with CUDA, optax and
# scipy preinstalled there): bench_scale per family group (so a timeout loses one
# group only; each group has its own files) and the scale tests. Results land in
# $OUT (or ./gpu_out) under <date>-<machine>/, the layout of benchmarks/results/
# (copy that folder there); gpu.txt and the test output stay at the top of $OUT.
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
out=${OUT:-gpu_out}; mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import jax, optax, scipy; print(jax.__version__, jax.devices(), optax.__version__, scipy.__version__)"
res="$out/$(python3 benchmarks/_common.py | tail -1)"; mkdir -p "$res"
timeout 200 python3 benchmarks/bench_scale.py --families gamma normal --sizes 1e4 1e5 1e6 1e7 1e8 \
  --out-prefix "$res/bench_scale_gamma_normal" 2>&1 | tee "$res/bench_scale_gamma_normal.log"
timeout 230 python3 benchmarks/bench_scale.py --families weibull student_t --sizes 1e4 1e5 1e6 1e7 1e8 \
  --repeat 2 --out-prefix "$res/bench_scale_weibull_student_t" 2>&1 \
  | tee "$res/bench_scale_weibull_student_t.log"
timeout 60 python3 -m pytest -q -x -p no:cacheprovider tests/test_scale.py -k "float32 or batch_size or sufficient" \
  2>&1 | tail -5 | tee "$out/pytest_gpu.txt"
