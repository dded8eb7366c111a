"""Canary judges: NetflixACAJudge-v1.0 exactly as Kayenta judges, and an opt-in zero-inflation variant.

Pure code (stdlib only): ``judge(config, thresholds, pairs, judge_name)`` → CanaryJudgeResult JSON.
"""

from .netflix import CONFIDENCE, JUDGES, NETFLIX_V1, TOLERANCE, ZERO_INFLATED, JudgeError, classify_metric, judge

__all__ = ["CONFIDENCE", "JUDGES", "NETFLIX_V1", "TOLERANCE", "ZERO_INFLATED", "JudgeError", "classify_metric", "judge"]
