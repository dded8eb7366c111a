"""Gennaker: Spinnaker's pipelines on Temporal. This package holds the settings, the CLI and the Python SDK."""

__version__ = "0.1.0"
