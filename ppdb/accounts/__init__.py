"""Accounts: agency admins, school operators and parents; sessions, login throttling, guards."""
