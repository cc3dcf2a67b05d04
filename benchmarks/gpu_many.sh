#!/usr/bin/env bash
# GPU checks for fit_many and the closed-form derivative passes, as one script on a
# lent GPU machine (jax with CUDA, optax and scipy preinstalled there): bench_many,
# bench_scale for Weibull and Student t, and the fit_many tests. Results land in
# $OUT (or ./gpu_out) under <date>-<machine>/, the layout of benchmarks/results/
# (copy that folder there); gpu.txt and the test output stay at the top of $OUT.
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
out=${OUT:-gpu_out}; mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import jax, optax, scipy; print(jax.__version__, jax.devices(), optax.__version__, scipy.__version__)"
res="$out/$(python3 benchmarks/_common.py | tail -1)"; mkdir -p "$res"
timeout 200 python3 benchmarks/bench_many.py --loop-seconds 2 \
  --out "$res" 2>&1 | tee "$res/bench_many.log"
timeout 200 python3 benchmarks/bench_scale.py --families weibull student_t --sizes 1e5 1e6 1e7 1e8 \
  --repeat 2 --out-prefix "$res/bench_scale_weibull_student_t" 2>&1 \
  | tee "$res/bench_scale_weibull_student_t.log"
timeout 60 python3 -m pytest -q -x -p no:cacheprovider tests/test_many.py \
  -k "weibull_batch or float32 or bad_datasets or ragged" 2>&1 | tail -5 | tee "$out/pytest_gpu.txt"
