"""The bottom layer: what every other package may import, and which imports nothing of ours above it.

Settings (``core.settings``), the error tree (``core.errors``), execution statuses (``core.status``), Spinnaker's
stage-field coercions (``core.fields``) and the store (``core.store``: Front50's applications, pipeline configs
and the execution projection). docs/architecture.md draws the layers.
"""
