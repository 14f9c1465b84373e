# Shared environment for the project's scripts (sourced, not run).
# Telemetry and error reporting off: no network calls the clinic did not configure.
export RASA_TELEMETRY_ENABLED=false
export SANIC_HOST="${SANIC_HOST:-127.0.0.1}"   # action server on loopback only
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
# One TensorFlow thread per op: the model is tiny, and thread hand-offs cost more than
# they save (about 10% more messages per second on 2 cores; benchmarks/load_benchmark.py).
export TF_INTER_OP_PARALLELISM_THREADS="${TF_INTER_OP_PARALLELISM_THREADS:-1}"
export TF_INTRA_OP_PARALLELISM_THREADS="${TF_INTRA_OP_PARALLELISM_THREADS:-1}"
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::DeprecationWarning}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
VENV="$ROOT/.venv"
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
