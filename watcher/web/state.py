"""What every request handler of the dashboard reads (``request.app.state.web``)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.templating import Jinja2Templates

from watcher.config import Config
from watcher.i18n import Language
from watcher.store import Store
from watcher.web.auth import LoginLimiter
from watcher.web.fmt import Formatter

__all__ = ["WebState"]


@dataclass(slots=True)
class WebState:
    """What every request handler reads (``request.app.state.web``)."""

    config: Config
    store: Store
    lang: Language
    fmt: Formatter
    templates: Jinja2Templates
    limiter: LoginLimiter
    password: str
