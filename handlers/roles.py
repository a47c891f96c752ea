"""The 五个员 roles and request categories for the chat features: the keyword tables and guesses live in
storage/roles.py, below the handlers, because the demo seed uses them too."""

from __future__ import annotations

from storage.roles import CATEGORY_ROLE, ROLES, guess_category, guess_role, normalize_role

__all__ = ["CATEGORY_ROLE", "ROLES", "guess_category", "guess_role", "normalize_role"]
