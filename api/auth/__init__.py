"""Fiat: who the caller is (authentication) and what they may read, write and execute (permissions)."""
