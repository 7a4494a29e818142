# The Python trainer, the MLflow tracking server and the first-start champion job share this
# image (docker-compose.yml: trainer, mlflow, champion). The layout mirrors the repository
# (/app/trainer, /app/deploy/local), so deploy/local/champion.sh runs unchanged.
# Build: docker build -f deploy/docker/trainer.Dockerfile -t storecast-trainer .
FROM python:3.11.14-slim-bookworm
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# curl: champion.sh talks to the APIs with it. Not pinned to a Debian revision: bookworm's
# security updates replace it in the archive, and a pinned revision would stop building.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app/trainer
COPY trainer/ ./
RUN UV_PYTHON_DOWNLOADS=never uv sync --frozen --no-dev --python "$(command -v python3)"
COPY deploy/local/lib.sh deploy/local/champion.sh deploy/local/group-lag.py /app/deploy/local/
# MLflow's artifacts (volume mlflow-artifacts), owned by the runtime user.
RUN mkdir -p /var/lib/mlflow/artifacts && chown 65532:65532 /var/lib/mlflow/artifacts
ENV PATH="/app/trainer/.venv/bin:$PATH"
USER 65532:65532
ENTRYPOINT ["storecast-trainer"]
CMD ["worker"]
