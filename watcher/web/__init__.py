"""The dashboard (``watcher serve``): server-rendered pages over the stored shops,
listings and alerts.

``app`` builds the ASGI application, ``routes`` holds the pages and the JSON API,
``queries`` turns the store's read side into what each page shows, ``chart`` draws SVG,
``auth`` guards it, ``server`` runs it with uvicorn. Importing this package imports no
web framework: the CLI loads those modules only when the dashboard is asked for.
"""
