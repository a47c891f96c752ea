"""What each message does. One router per feature; the order of routes is written down in bot/dispatch.py.

Handlers never see werobot: they get a ``handlers.base.Message`` and a ``handlers.base.Context`` and
return the reply text (or None for no reply).
"""
