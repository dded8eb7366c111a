"""Kayenta: automated canary analysis (configs, Prometheus queries, pairing, the judge, the run workflow).

The judge (``canary.judge``) is pure; ``canary.runs`` is the Python API the kayentaCanary stage uses. See
docs/canary.md.
"""
