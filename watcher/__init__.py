"""watcher: competitor and listing watcher for e-commerce sellers."""

import sys

# httpx's package imports its command-line tool (``httpx._main``: click, rich's syntax
# highlighting, pygments) whenever click is installed (apprise and uvicorn need it): ~6 MiB
# and ~35 ms on every start of watcher, which never runs that tool. A None entry makes
# that one import fail, and httpx then leaves its CLI out (its documented fallback).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
