# syntax=docker/dockerfile:1
# One image, several start commands: web (gunicorn), worker (celery worker), beat (celery beat),
# dispatcher (manage.py dispatch_events), migrate, manage ARGS. See scripts/docker-entrypoint.
# Production settings: DEBUG=false; real SECRET_KEY / FIELD_ENCRYPTION_KEY and ALLOWED_HOSTS
# given at run time (the container refuses to start without).

# --- builder: every dependency as a wheel ---------------------------------------------------
FROM python:3.11-slim-bookworm AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --wheel-dir /wheels -r requirements.txt

# --- runtime: slim, no compiler, non-root ---------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    DEBUG=false \
    VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    PORT=8000
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links=/wheels \
       -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app
WORKDIR /app
# Code belongs to root and is read-only for the app user; only var/, staticfiles/ and
# /srv/sftp (the hosted SFTP storage and host key, a volume in compose) are its.
COPY . /app
RUN chmod 0755 /app/scripts/docker-entrypoint /app/scripts/docker-healthcheck \
    && mkdir -p /app/var /app/staticfiles /srv/sftp \
    && chown app:app /app/var /app/staticfiles /srv/sftp
USER app
# Static files are collected at build time. The keys here are made at random for this one
# command and then gone: not in the image's environment nor in this file (a key written here
# would be a published one), never used at run time, where settings refuse to start without
# real ones.
RUN DEBUG=false \
    ALLOWED_HOSTS=localhost \
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    FIELD_ENCRYPTION_KEY="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput -v 0 \
    && rm -f /tmp/build.sqlite3
EXPOSE 8000 2222
# Checks what the container runs (scripts/docker-healthcheck): web's /healthz, sftp's SSH
# banner, a worker's ping; beat, dispatcher and migrate are healthy while they run.
HEALTHCHECK --interval=30s --timeout=30s --start-period=30s --retries=3 \
    CMD ["python", "/app/scripts/docker-healthcheck"]
# Start commands (scripts/docker-entrypoint): web, worker, beat, dispatcher, sftp, migrate, manage.
ENTRYPOINT ["/app/scripts/docker-entrypoint"]
CMD ["web"]
