"""The demo township (``lianxin demo``): seed.py seeds it, people.py draws its people, handbook.py its policy handbook."""
