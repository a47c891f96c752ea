"""The office's web console (Flask blueprint at /, server-rendered Jinja2, Simplified Chinese).

``console.web.register(app, lx)`` configures the session cookie and mounts the blueprint. The views live in
``console/views/*.py``; access rules (roles, village scope, CSRF, session timeout) in ``console/access.py``;
the documents it and the CLI print (reports, the ledger, service cards) in ``console/documents/``.
"""
