# syntax=docker/dockerfile:1
# Gennaker's image (docs/install.md): the API, the workers and, for a laptop, `gennaker up`, from one wheel.
#
#   docker build -t gennaker .
#   docker run --rm -p 8084:8084 -e GENNAKER_TEMPORAL__ADDRESS=temporal:7233 \
#       -e GENNAKER_DATABASE_URL=postgresql+psycopg://... gennaker                 # the API (gennaker-api)
#   docker run --rm -e ... gennaker gennaker-worker                                   # the workers
#   docker run --rm -p 8084:8084 -e GENNAKER_API__WORKERS=1 gennaker gennaker up      # everything, on a laptop
#
# Settings come from GENNAKER_* variables or a mounted file named by GENNAKER_CONFIG_FILE; none are baked in.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: Gennaker's wheel (its app folders under gennaker_app/, setup.py) and the wheels of its dependencies ---
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md worker.py ./
COPY core/ core/
COPY workflows/ workflows/
COPY activities/ activities/
COPY api/ api/
COPY providers/ providers/
COPY bakery/ bakery/
COPY integrations/ integrations/
COPY canary/ canary/
COPY templates/ templates/
COPY ui/ ui/
COPY gennaker/ gennaker/
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && python -m pip wheel --no-cache-dir --wheel-dir /wheels /wheels/gennaker-*.whl

# --- runtime: a virtualenv installed from those wheels only, run by an unprivileged user ---
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 gennaker \
 && useradd --system --uid 10001 --gid gennaker --home-dir /var/lib/gennaker --create-home --shell /usr/sbin/nologin gennaker
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/gennaker \
 && /opt/gennaker/bin/pip install --no-cache-dir --no-index --find-links /wheels gennaker \
 && /opt/gennaker/bin/pip uninstall --yes pip
ENV PATH=/opt/gennaker/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GENNAKER_STATE_DIR=/var/lib/gennaker \
    GENNAKER_API__HOST=0.0.0.0 \
    GENNAKER_HEALTHCHECK_URL=http://127.0.0.1:8084/health
WORKDIR /var/lib/gennaker
USER 10001:10001
EXPOSE 8084 9464
# The API's /health; a worker container sets GENNAKER_HEALTHCHECK_URL to its metrics port (http://127.0.0.1:9464/metrics)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['GENNAKER_HEALTHCHECK_URL'], timeout=4)"]
CMD ["gennaker-api"]
