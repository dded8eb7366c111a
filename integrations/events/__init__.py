"""Echo's REST listener: events from the outbox shaped as Echo sends them (``rest``) and posted in order."""
