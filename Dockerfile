# watcher: the daemon in a small image. Mount your config at /config/watcher.toml and a
# volume at /data for the SQLite database.
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
COPY pyproject.toml README.md ./
COPY watcher ./watcher
RUN pip install ".[postgres]"

USER watcher
VOLUME ["/data"]
ENTRYPOINT ["watcher"]
CMD ["run", "--config", "/config/watcher.toml"]
