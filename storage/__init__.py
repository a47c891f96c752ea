"""Storage: SQLAlchemy models, the engine and sessions, Alembic migrations, and query helpers.

Functions here take ``session`` as a keyword argument and never commit: the caller owns the transaction.
"""
