"""Helpers shared by the tests (not tests themselves): the fake clock, row factories, the signed WeChat
client, the chat and console worlds, throwaway PostgreSQL databases, a loopback server, small queries.

The fake WeChat API server stays in tests/fake_wechat.py.
"""
