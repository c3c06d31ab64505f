# watcher: the daemon in a small image. Mount your config at /config/watcher.toml and a
# volume at /data for the SQLite database (or set WATCHER_DATABASE_URL to a PostgreSQL URL
# and start as many containers as you like: they share the work).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WATCHER_DATABASE_URL=sqlite:////data/watcher.db

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin watcher \
    && mkdir -p /data /config \
    && chown watcher:watcher /data

WORKDIR /opt/watcher

# Dependencies first, at the versions of the lock file (scripts/lock.sh): this layer is
# rebuilt only when requirements.lock changes, not on every source change.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock

# Then watcher itself, without touching the dependencies; pip check fails the build if the
# lock no longer satisfies pyproject.toml.
COPY pyproject.toml README.md ./
COPY watcher ./watcher
RUN pip install --no-deps . && pip check

USER watcher
VOLUME ["/data"]

# `watcher run` stops within 10 s of SIGTERM (Docker's default wait before SIGKILL):
# checks in flight are cancelled and stay due, nothing stored is lost.
STOPSIGNAL SIGTERM

# The dashboard listens on the container's loopback only (publishing it needs a password, see
# the README); its /healthz is 200 while the database answers and checks are recent
# (python:3.11-slim has no curl).
HEALTHCHECK --interval=60s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8787/healthz', timeout=4)"]

ENTRYPOINT ["watcher"]
CMD ["run", "--config", "/config/watcher.toml", "--serve", "127.0.0.1:8787"]
