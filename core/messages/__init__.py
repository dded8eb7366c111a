"""The inputs and results of workflows that activities and integrations also use.

A workflow and the activities it calls (or that start it) exchange these objects; they live below both, so
that activities never import workflow code (tests/test_architecture.py). One module per workflow, named as
its workflow module in ``workflows/``; the task contract of stage workflows is ``core/tasks.py``.
"""
