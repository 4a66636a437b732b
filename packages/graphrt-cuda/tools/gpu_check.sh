#!/usr/bin/env bash
# One short GPU slot (about 10 minutes): install, run the cuda tests, the conformance suite on
# cuda, then the benchmarks, printing every figure. Run from the repository root:
#   bash packages/graphrt-cuda/tools/gpu_check.sh
# Each stage has its own time limit so a hang in one still leaves the others their time.
set -u
cd "$(dirname "$0")/../../.."
PY=${PYTHON:-python3}
if [ -x .venv/bin/python ]; then PY=.venv/bin/python; fi
echo "== device"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
echo "== install (cupy-cuda13x, test deps, the packages editable)"
timeout 240 $PY -m pip install -q -r requirements/test.txt || \
  timeout 180 $PY -m pip install -q cupy-cuda13x nvidia-cuda-nvrtc pytest hypothesis scipy \
    -e packages/graphcore -e packages/graphopt -e packages/graphrt-cuda
$PY - <<'PYEOF'
from graphrt_cuda.backend import CUDABackend
print("cuda availability:", CUDABackend.availability())
PYEOF
export GRAPHCORE_CUDA_CACHE_DIR=${GRAPHCORE_CUDA_CACHE_DIR:-/tmp/graphcore-cuda-cache}
echo "== cuda tests (graphrt-cuda package + end-to-end launches)"
timeout 150 $PY -m pytest -q -x -p no:cacheprovider -rs packages/graphrt-cuda/tests tests/test_cuda_runtime.py
echo "== conformance suite (every available backend, cuda included)"
timeout 150 $PY -m pytest -q -p no:cacheprovider -rs tests/test_backend_conformance.py tests/test_conformance.py -k cuda
echo "== benchmarks"
timeout 150 $PY benchmarks/bench_cuda.py
echo "== done"
