# Starts a real OpenAI-compatible server on loopback for the generate
# package's TestRealServer: `transformers serve` (PyPI transformers[serving]
# 5.2.0, torch on the CPU) with a tiny random-weight GPT-2 made by
# tools/reference/gen_tiny_lm.py. Source it from .ci/run:
#
#     source .ci/llm.sh
#
# It exports ASK_TEST_LLM_URL (http://127.0.0.1:PORT/v1), ASK_TEST_LLM_MODEL
# (the model folder) and ASK_LLM_PID; ask_llm_stop stops the server. It sets
# no trap of its own (that would replace the caller's): the caller chains
# it, e.g. trap 'ask_llm_stop; ask_pg_stop' EXIT. The venv and the model are
# kept in the CI cache, so only the first run installs: cold, 7.3 minutes
# (5.6 minutes of pip, since PyPI's torch wheel carries the CUDA libraries:
# 5.5 GB), warm 55 s (the server's start), on a loaded 2-core machine. With
# ASK_LLM_OPTIONAL=1 a failure only warns, and the tests that need the
# server skip.
#
# Needs ../shared/data/tokenizers/roberta-base (GPT-2's vocabulary).

ask_llm_stop() {
  if [ -n "${ASK_LLM_PID:-}" ]; then
    kill "$ASK_LLM_PID" 2>/dev/null || true
    wait "$ASK_LLM_PID" 2>/dev/null || true
  fi
}

ask_llm_start() {
  local root cache venv model port log i
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/ask-ci
  venv=$cache/llm-venv
  model=$cache/tiny-gpt2
  log=$cache/llm-serve.log
  mkdir -p "$cache"

  echo "== llm: transformers serve with a tiny random GPT-2"
  if ! "$venv/bin/python" -c 'import transformers, torch, fastapi, uvicorn; assert transformers.__version__ == "5.2.0"' 2>/dev/null; then
    local t0=$SECONDS
    python3 -m venv "$venv" || return 1
    "$venv/bin/pip" install --quiet --disable-pip-version-check "transformers[serving]==5.2.0" torch || return 1
    echo "llm: installed transformers[serving] and torch in $((SECONDS - t0)) s"
  fi
  if [ ! -f "$model/model.safetensors" ] || [ ! -f "$model/chat_template.jinja" ]; then
    "$venv/bin/python" "$root/tools/reference/gen_tiny_lm.py" "$model" \
      --tokenizer "$root/../shared/data/tokenizers/roberta-base" || return 1
  fi
  port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || return 1
  # Offline: the model is a local folder, and nothing may be fetched. The
  # hub cache folder must exist or the server's model listing fails.
  mkdir -p "$cache/hf-hub"
  HF_HUB_OFFLINE=1 HF_HUB_CACHE="$cache/hf-hub" \
    "$venv/bin/transformers" serve --device cpu --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
  ASK_LLM_PID=$!
  for i in $(seq 1 120); do
    if curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
      export ASK_TEST_LLM_URL="http://127.0.0.1:$port/v1" ASK_TEST_LLM_MODEL="$model" ASK_LLM_PID
      echo "llm: serving $ASK_TEST_LLM_MODEL at $ASK_TEST_LLM_URL (pid $ASK_LLM_PID) after $i s"
      return 0
    fi
    if ! kill -0 "$ASK_LLM_PID" 2>/dev/null; then
      break
    fi
    sleep 1
  done
  echo "llm: transformers serve did not come up; its log:"; tail -30 "$log"
  kill "$ASK_LLM_PID" 2>/dev/null || true
  return 1
}

if ! ask_llm_start; then
  if [ "${ASK_LLM_OPTIONAL:-}" = 1 ]; then
    echo "llm: WARNING: no real LLM server; TestRealServer will skip"
  else
    echo "llm: could not start the test LLM server (set ASK_LLM_OPTIONAL=1 to go on without it)"
    exit 1
  fi
fi
