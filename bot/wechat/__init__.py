"""The WeChat protocol, in one place: inbound (inbound.py, endpoint.py) and the outbound API (api.py)."""
