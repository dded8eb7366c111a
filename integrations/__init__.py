"""Gennaker's links to systems outside the engine: Echo's triggers and notifications, CI servers."""
