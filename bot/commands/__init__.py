"""``lianxin task|jobs|scheduler|outbox`` (tasks.py) until it moves to bot/cli/; registered by bot/cli/__init__.py."""
