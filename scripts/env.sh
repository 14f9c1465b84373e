# Shared environment for the project's scripts (sourced, not run).
# Telemetry and error reporting off: no network calls the clinic did not configure.
export RASA_TELEMETRY_ENABLED=false
export SANIC_HOST="${SANIC_HOST:-127.0.0.1}"   # action server on loopback only
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::DeprecationWarning}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
VENV="$ROOT/.venv"
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
