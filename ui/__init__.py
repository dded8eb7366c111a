"""Deck: the browser UI (docs/ui.md). Static ES modules and one stylesheet, served with a same-origin proxy to Gate."""
