"""Echo's event → trigger matching (integrations/triggers)."""
