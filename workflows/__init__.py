"""Orca on Temporal: pipelines are workflows, stages are child workflows, tasks are activities."""
