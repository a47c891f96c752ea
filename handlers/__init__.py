"""What each message does. One router per feature; the order of routers is written down in handlers/routing.py.

Handlers never see werobot: they get a ``handlers.base.Message`` and a ``handlers.base.Context`` and
return the reply text (or None for no reply).
"""
