"""The office's web console (Flask, server-rendered Jinja2, Simplified Chinese).

``console.web.register(app, lx)`` configures the session cookie and mounts the console's areas, listed once in
``console/areas.py``: each view module in ``console/views/`` exports its blueprint, all of them behind one guard.
Access rules (roles, village and township scope, CSRF, session timeout) live in ``console/access.py``, logging in
in ``console/login.py``, the error pages in ``console/errors.py``; the documents the console and the CLI print
(reports, the ledger, service cards) in ``console/documents/``.
"""
