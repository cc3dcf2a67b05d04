#!/usr/bin/env bash
# bench_inference on a lent GPU machine (jax with CUDA, optax, scipy preinstalled;
# statsmodels may be missing: the script then skips its row). Results land in $OUT
# (or ./gpu_out) under <date>-<machine>/, the layout of benchmarks/results/ (copy
# that folder there); gpu.txt stays at the top of $OUT.
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
out=${OUT:-gpu_out}; mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$out/gpu.txt"
res="$out/$(python3 benchmarks/_common.py | tail -1)"; mkdir -p "$res"
timeout 300 python3 benchmarks/bench_inference.py --loop 20 \
  --out "$res" 2>&1 | tee "$res/bench_inference.log"
