"""Fiat's permission model, pure: who a caller is (:mod:`.principal`) and what their roles let them do
(:mod:`.permissions`). The API enforces it per request (``api/auth/enforce.py``); the trigger launcher uses it
for the service account a triggered execution runs as (``integrations/triggers/run_as.py``)."""
