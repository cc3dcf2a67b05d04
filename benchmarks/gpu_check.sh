#!/usr/bin/env bash
# The GPU checks, run as one script on a lent GPU machine (jax with CUDA, optax and
# scipy preinstalled there): the demo, bench_fit in float32 and float64, and the
# float32 / fit tests. Results land in $OUT (or ./gpu_out) under <date>-<machine>/,
# the layout of benchmarks/results/ (copy that folder there); gpu.txt and the test
# output stay at the top of $OUT.
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
out=${OUT:-gpu_out}; mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import jax, optax, scipy; print(jax.__version__, jax.devices(), optax.__version__, scipy.__version__)"
res="$out/$(python3 benchmarks/_common.py | tail -1)"; mkdir -p "$res"
python3 -m jaxmle.cli demo 2>&1 | tee "$res/demo.txt"
for dt in float32 float64; do
  python3 benchmarks/bench_fit.py --dtype "$dt" --sizes 100000 1000000 10000000 \
    --out "$res" 2>&1 | tee "$res/bench_fit_$dt.log"
done
timeout 240 python3 -m pytest -q -x -p no:cacheprovider tests/test_normal.py tests/test_fit.py \
  2>&1 | tee "$out/pytest_gpu.txt"
