"""Values that must never be printed: what came from the environment through ``${VAR}``
and the database password. A :class:`Secrets` travels on the ``Config``; the log set-up and
every error message redact with it."""

from __future__ import annotations

from collections.abc import Iterator

from watcher.errors import ConfigError

MIN_LENGTH = 4
"""Shorter values are not masked: replacing ``"on"`` or ``"1"`` everywhere would garble
every message and hide nothing worth hiding."""

MASK = "***"


class Secrets:
    """A set of secret values, each with where it came from (``${WATCHER_WEBHOOK_URL}``)."""

    def __init__(self) -> None:
        self._origins: dict[str, str] = {}

    def add(self, value: str, origin: str) -> None:
        """Remember ``value`` (when it is long enough to be worth masking)."""
        if len(value.strip()) >= MIN_LENGTH:
            self._origins.setdefault(value, origin)

    def __iter__(self) -> Iterator[str]:
        return iter(self._origins)

    def __len__(self) -> int:
        return len(self._origins)

    def _forms(self) -> list[tuple[str, str]]:
        """Each secret as it may appear in a message: itself, stripped of the spaces and
        line breaks that often trail an environment variable, and as ``repr`` shows it;
        longest first, so a secret that contains another is masked whole."""
        forms: dict[str, str] = {}
        for value, origin in self._origins.items():
            for form in (value, value.strip(), repr(value)[1:-1], repr(value.strip())[1:-1]):
                if len(form) >= MIN_LENGTH:
                    forms.setdefault(form, origin)
        return sorted(forms.items(), key=lambda item: len(item[0]), reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every secret masked."""
        for form, _ in self._forms():
            if form in text:
                text = text.replace(form, MASK)
        return text

    def redact_error(self, error: ConfigError) -> ConfigError:
        """``error`` with its secrets masked; the message then says where the hidden value
        came from, so the user knows which variable to look at."""
        origins = [origin for form, origin in self._forms() if form in error.problem]
        if not origins:
            return error
        where = ", ".join(dict.fromkeys(origins))
        return ConfigError(error.path, f"{self.redact(error.problem)} (value from {where})")
