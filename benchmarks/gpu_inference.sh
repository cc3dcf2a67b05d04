#!/usr/bin/env bash
# bench_inference on a lent GPU machine (jax with CUDA, optax, scipy preinstalled;
# statsmodels may be missing: the script then skips its row). Results land in $OUT.
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
out=${OUT:-gpu_out}; mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$out/gpu.txt"
timeout 300 python3 benchmarks/bench_inference.py --loop 20 \
  --out-prefix "$out/bench_inference_results_gpu" 2>&1 | tee "$out/bench_inference.log"
