"""Imports every stage module so each registers itself. Add new stage modules here."""

from __future__ import annotations

from . import (  # noqa: F401
    bake,
    check_preconditions,
    clusters,
    deploy,
    evaluate_variables,
    execution_window,
    find_image,
    infrastructure,
    jenkins,
    kayenta_canary,
    kayenta_deploy,
    manifest,
    manual_judgment,
    pipeline_stage,
    rolling,
    run_job_manifest,
    server_groups,
    terraform,
    wait,
    webhook,  # noqa: F401
)
