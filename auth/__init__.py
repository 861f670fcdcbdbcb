"""Accounts, roles, units and their membership; registration, login, lockout and revocable sessions."""
