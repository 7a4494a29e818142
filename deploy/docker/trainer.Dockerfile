# The Python trainer and the MLflow tracking server share this image.
# Build: docker build -f deploy/docker/trainer.Dockerfile -t storecast-trainer .
FROM python:3.11-slim-bookworm
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY trainer/ ./
RUN uv sync --frozen --no-dev
ENV PATH="/app/.venv/bin:$PATH"
USER 65532:65532
ENTRYPOINT ["storecast-trainer"]
CMD ["worker"]
