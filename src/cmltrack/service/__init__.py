"""``cmltrack serve``: the clinic's service (FastAPI on uvicorn).

- :func:`cmltrack.service.app.create_app` builds the app from
  :class:`cmltrack.service.settings.Settings`;
- :mod:`cmltrack.service.core` holds the work as functions (the web pages call these);
- :mod:`cmltrack.service.auth` mints and verifies API tokens;
- :mod:`cmltrack.service.cds` serves CDS Hooks 2.0.

Needs the ``service`` extra; ``import cmltrack`` never imports it.
"""
