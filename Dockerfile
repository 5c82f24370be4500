# syntax=docker/dockerfile:1
#
# liaison node image. Build:   docker build -t liaison:local .
# Operations (first start, secrets, pinning): docs/operations.md.
#
# Two stages: the builder makes a wheel of this project and installs it with its dependencies into
# a virtual environment; the runtime stage gets only that environment, the entrypoint scripts and a
# non-root user. Neither stage installs a compiler: every dependency must come as a wheel for the
# target platform, and a build that would need to compile something fails instead.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1

RUN python -m venv /opt/venv

WORKDIR /src
COPY pyproject.toml README.md ./
COPY crypto ./crypto
COPY service ./service
COPY policies ./policies
COPY clients ./clients
COPY migrations ./migrations

# The wheel carries the `migrations` package (env.py and versions/), which service.migrate finds
# next to the installed `service` package; the last check fails the build if it does not.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && /opt/venv/bin/pip install --no-cache-dir /wheels/liaison-*.whl \
 && /opt/venv/bin/python -c "from clients.cli import main" \
 && /opt/venv/bin/python -c "from service.migrate import MIGRATIONS as m; \
assert (m / 'env.py').is_file() and any((m / 'versions').glob('[0-9]*.py')), m"


FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="liaison" \
      org.opencontainers.image.description="Secure bilateral intelligence-exchange node" \
      org.opencontainers.image.licenses="Apache-2.0"

# /opt/liaison/bin comes first: its `liaison` reads *_FILE secrets, then runs /opt/venv/bin/liaison.
# LIAISON_LISTEN_HOST/PORT override node.toml: inside a container the server must listen on all
# interfaces of the container (node init writes 127.0.0.1), and the health check uses the port.
ENV PATH="/opt/liaison/bin:/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LIAISON_DATA_DIR=/var/lib/liaison \
    LIAISON_LISTEN_HOST=0.0.0.0 \
    LIAISON_LISTEN_PORT=8600

RUN groupadd --system --gid 10001 liaison \
 && useradd --system --no-log-init --uid 10001 --gid 10001 --home-dir /nonexistent \
        --no-create-home --shell /usr/sbin/nologin liaison \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/liaison

# Root-owned and read-only for the node's user: the code cannot be changed by the process running it.
COPY --from=builder /opt/venv /opt/venv
COPY --chmod=0644 docker/secrets.sh /opt/liaison/lib/secrets.sh
COPY --chmod=0644 docker/healthcheck.py /opt/liaison/lib/healthcheck.py
COPY --chmod=0755 docker/liaison.sh /opt/liaison/bin/liaison
COPY --chmod=0755 docker/entrypoint.sh /opt/liaison/bin/liaison-entrypoint

USER 10001:10001

# The node's data dir: identity.key (0600), node.toml, and the SQLite database when
# LIAISON_DATABASE_URL is not set. A new named volume takes this directory's owner and mode (0700).
VOLUME ["/var/lib/liaison"]

EXPOSE 8600

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/opt/venv/bin/python", "/opt/liaison/lib/healthcheck.py"]

ENTRYPOINT ["liaison-entrypoint"]
CMD ["serve"]
