#!/usr/bin/env bash
# The kernel tests, run twice (as stumpy's CI does):
#   1. NUMBA_BOUNDSCHECK=1: every array index inside an @njit kernel is checked, so an
#      out-of-range read or write raises IndexError instead of reading/corrupting memory.
#      NUMBA_CACHE_DIR points at a fresh directory, so no cached kernel compiled without
#      bounds checks is reused.
#   2. NUMBA_DISABLE_JIT=1: the kernels run as plain Python, so coverage sees their lines
#      and a Python exception shows the failing line.
# The selection: every test that runs the Numba kernels (engine="numba", numba == numpy,
# Keras cross-checks through the numba engine, golden files, the reliability tests).
# Usage: .ci/kernel_passes.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

TESTS=(
  tests/kernels/test_lstm_engines.py
  tests/kernels/test_kernels_lstm.py
  tests/kernels/test_kernels_lstm_wide.py
  tests/kernels/test_kernels_packed.py
  tests/kernels/test_kernels_threads.py
  tests/kernels/test_kernels_vecmath.py
  tests/kernels/test_kernels_gru.py
  tests/kernels/test_kernels_gru_wide.py
  tests/kernels/test_kernels_simple_rnn.py
  tests/ops/test_lstm_backward.py
  tests/layers/test_lstm_keras.py
  tests/layers/test_gru_keras.py
  tests/layers/test_simple_rnn_keras.py
  tests/layers/test_bidirectional_keras.py
  tests/layers/test_golden.py
  tests/layers/test_gru_simple_rnn_golden.py
  tests/layers/test_reliability_inputs.py
  tests/layers/test_reliability_extremes.py
  tests/layers/test_reliability_properties.py
  "tests/ops/test_activations.py::test_numba_scalar_twins_equal_numpy"
  "tests/layers/test_lstm_errors.py::test_huge_inputs_give_finite_outputs_and_no_warnings"
)
# A moved or renamed test file must not drop out of the selection unnoticed (a missing
# ::test id makes pytest itself fail).
for t in "${TESTS[@]}"; do [ -e "${t%%::*}" ] || { echo "missing: $t" >&2; exit 2; }; done

cache_dir="$(mktemp -d)"
trap 'rm -rf "$cache_dir"' EXIT

echo "== kernel tests, NUMBA_BOUNDSCHECK=1 (fresh NUMBA_CACHE_DIR=$cache_dir)"
start=$SECONDS
NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR="$cache_dir" \
  python -m pytest -q -p no:cacheprovider "${TESTS[@]}" "$@"
echo "== bounds-checked pass: $((SECONDS - start)) s"

echo "== kernel tests, NUMBA_DISABLE_JIT=1"
start=$SECONDS
NUMBA_DISABLE_JIT=1 python -m pytest -q -p no:cacheprovider "${TESTS[@]}" "$@"
echo "== JIT-disabled pass: $((SECONDS - start)) s"
