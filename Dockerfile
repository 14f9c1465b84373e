# syntax=docker/dockerfile:1
# One image for the Rasa server (the default command) and the action server
# (`rasa run actions --actions actions --port 5055`). Dependencies are installed exactly as
# scripts/install does, the spaCy pipeline is built and the model trained at build time,
# so a container only loads the model when it starts. See docs/deployment.md.
#
#   docker build -t dry-needling-assistant .
#
# linux/amd64 only: some pinned wheels (tensorflow-text 2.12) exist for x86-64 only; on an
# ARM machine build with --platform linux/amd64.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- dependencies (with a compiler: multidict 5.2.0 in requirements.lock has no 3.11 wheel) ----
FROM ${PYTHON_IMAGE} AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /tmp/install
COPY requirements.lock .
# rasa and rasa-sdk declare Python <3.11 but run on 3.11: installed without their
# dependency metadata; everything else exactly as pinned (same split as scripts/install).
RUN grep -E '^(rasa|rasa-sdk)==' requirements.lock > requirements-rasa.txt \
    && grep -vE '^(rasa|rasa-sdk)==' requirements.lock > requirements-deps.txt \
    && pip install --no-deps --ignore-requires-python -r requirements-rasa.txt \
    && pip install --no-deps -r requirements-deps.txt

# ---- the assistant ----
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="dry-needling-assistant" \
      org.opencontainers.image.description="Dry needling safety assistant (Rasa Open Source 3.6 + rasa-sdk action server)"
# Telemetry off: the assistant makes no network calls the clinic did not configure.
ENV RASA_TELEMETRY_ENABLED=false \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PYTHONWARNINGS=ignore::DeprecationWarning \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/home/assistant
RUN groupadd --gid 10001 assistant \
    && useradd --uid 10001 --gid assistant --home-dir /home/assistant --create-home \
       --shell /usr/sbin/nologin assistant
COPY --from=deps /opt/venv /opt/venv

# Not /app: the Rasa Helm chart mounts its own endpoints.yml and credentials.yml there.
WORKDIR /opt/assistant
COPY . .
# Build as root, so the code and the model stay read-only for the user that runs them;
# only var/ (the generated var/credentials.yml) and the home directory (Rasa's and
# matplotlib's per-user files, first written during training) are the user's.
RUN python -m bot.nlu.spacy_pipeline build/spacy-en-lookup >/dev/null \
    && python -m bot.content.knowledge --check >/dev/null \
    && python -m bot.safety.learned --build \
    && rasa train --config config.yml --domain domain.yml --data data --out models --fixed-model-name dry-needling \
    && test -f models/dry-needling.tar.gz \
    && rm -rf .rasa \
    && mkdir -p var \
    && chown -R assistant:assistant var /home/assistant

USER 10001:10001
EXPOSE 5005 5055
# The Rasa server, as scripts/start runs it, with the production stores: channels whose
# settings are in the environment, HTTP API only with RASA_API_TOKEN, CORS for
# CHAT_ALLOWED_ORIGINS. The action server: command `rasa run actions --actions actions --port 5055`.
CMD ["sh", "-c", "set -eu; python -m bot.channels.config credentials.yml var/credentials.yml; set -- --model models/dry-needling.tar.gz --endpoints endpoints.production.yml --credentials var/credentials.yml --port 5005; if [ -n \"${RASA_API_TOKEN:-}\" ]; then set -- \"$@\" --enable-api --auth-token \"$RASA_API_TOKEN\"; fi; if [ -n \"${CHAT_ALLOWED_ORIGINS:-}\" ]; then set -f; IFS=', '; set -- \"$@\" --cors $CHAT_ALLOWED_ORIGINS; unset IFS; fi; exec python -m bot.server run \"$@\""]
