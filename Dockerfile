# syntax=docker/dockerfile:1
# BASE_IMAGE: python:3.11-slim, or a stand-in with python3.11 and venv where no registry is reachable
# (scripts/container_check.py builds one).
ARG BASE_IMAGE=python:3.11-slim

# Build stage: a virtualenv with the locked dependencies (hashes checked) and the gateway, then without
# pip and setuptools.
FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements.lock ./
RUN python -m venv /opt/venv \
    && /opt/venv/bin/python -m pip install --require-hashes --only-binary=:all: -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY gateway/ gateway/
RUN /opt/venv/bin/python -m pip install --no-deps /src \
    && /opt/venv/bin/python -m pip check \
    && /opt/venv/bin/python -m pip uninstall --yes pip setuptools \
    && /opt/venv/bin/python -c "import gateway.__main__, gateway.health"

# Final stage: the virtualenv only (no compilers, no pip, no source tree, tests or docs); a non-root user.
FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid 10001 --no-create-home gateway \
    && rm -rf /usr/local/bin/pip* /usr/local/lib/python3.11/site-packages/pip* \
        /usr/local/lib/python3.11/site-packages/setuptools* /usr/local/lib/python3.11/site-packages/wheel*
COPY --from=build /opt/venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8080
USER 10001:10001
EXPOSE 8080
# Probes /healthz where the settings in the environment make the gateway listen (GATEWAY_HOST/PORT, or
# GATEWAY_HEALTH_HOST/PORT when the health listener is on).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-m", "gateway.health"]
CMD ["python", "-m", "gateway", "serve"]
