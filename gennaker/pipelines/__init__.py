"""Pipelines as Python: typed builders that write Spinnaker pipeline JSON, as Deck would.

::

    from gennaker.pipelines import Pipeline, Parameter, CronTrigger, Wait, ManualJudgment

    p = Pipeline(
        "deploy",
        application="demo",
        parameters=[Parameter("env", default="staging", options=["staging", "prod"], required=True)],
        triggers=[CronTrigger("0 0 12 ? * MON-FRI")],
        stages=[Wait(30, name="Settle"), ManualJudgment("Approve", inputs=["ship", "hold"])],
    )
    p.to_json()  # a dict, ready for json.dumps / the API / `gennaker run`

Layout: the entries of ``stages=[...]`` run one after the other. ``Parallel(a, b, ...)`` runs its
branches side by side (a branch is a stage or a list of stages) and the entry after it waits for
all of them. A stage given ``after=[...]`` depends on exactly those stages instead (``after=[]``
makes it a root), wherever it sits in the list. refIds are ``"1"``, ``"2"``, ... in list order.

Every builder checks its fields when it is created and raises :class:`PipelineBuildError` naming
the field; :meth:`Pipeline.to_json` checks the layout (unknown ``after`` targets, a stage object
used twice, cycles). The package deliberately imports nothing from ``workflows`` (or Temporal); cron
expressions are checked with the engine's own Quartz reader (``integrations.triggers.cron_calendar.compile_quartz``),
and fields follow the engine's rules (``core.fields``).

Modules, one per stage family; every public name is re-exported here:

* ``pipeline``: :class:`Pipeline` and :class:`Parameter`, and the layout of stages into refIds;
* ``stage``: :class:`Stage` (any type, and the common fields) and :class:`Parallel`;
* ``options``: failure options and execution windows; ``notifications``: :class:`Notification`;
* ``core_stages``: wait, manual judgment, evaluate variables, check preconditions, run a pipeline;
  ``webhook``: the webhook stage;
* ``deploy``: server groups and clusters; ``manifests``: Kubernetes manifests; ``jobs``: ``runJobManifest``;
  ``ci``: Jenkins, script and bake; ``canary``: ``kayentaCanary``; ``infrastructure``: security groups, load
  balancers, scaling policies...; ``terraform``: the terraform stage;
* ``trigger`` and ``triggers``: :class:`Trigger` (any type) and the typed ones (cron, webhook, pipeline, git, jenkins);
* ``checks``: the field checks every builder shares, and :class:`PipelineBuildError`.
"""

from __future__ import annotations

from .canary import KayentaCanary
from .checks import JSON as JSON  # the type of the JSON data the builders write
from .checks import PipelineBuildError, expr
from .ci import (
    Bake,
    GitHubActions,
    GitHubActionsTrigger,
    GitLabCi,
    GitLabCiTrigger,
    Jenkins,
    Script,
    Travis,
    TravisTrigger,
)
from .core_stages import (
    CheckPreconditions,
    EvaluateVariables,
    ExpressionPrecondition,
    ManualJudgment,
    Precondition,
    RunPipeline,
    StageStatusPrecondition,
    Variable,
    Wait,
)
from .deploy import (
    CloneServerGroup,
    Cluster,
    ClusterSizePrecondition,
    CreateServerGroup,
    CustomStrategy,
    Deploy,
    DestroyServerGroup,
    DisableCluster,
    DisableServerGroup,
    EnableServerGroup,
    FindAmi,
    FindImage,
    FindImageFromTags,
    Highlander,
    RedBlack,
    ResizeServerGroup,
    RollbackCluster,
    RollbackServerGroup,
    RollingRedBlack,
    ScaleDownCluster,
    ShrinkCluster,
)
from .infrastructure import (
    DeleteAsgScheduledActions,
    DeleteLoadBalancer,
    DeleteScalingPolicy,
    DeleteSecurityGroup,
    UpdateLaunchTemplate,
    UpsertAsgScheduledActions,
    UpsertImageTags,
    UpsertLoadBalancer,
    UpsertScalingPolicy,
    UpsertSecurityGroup,
)
from .jobs import RunJobManifest
from .manifests import DeleteManifest, DeployManifest, PatchManifest, ScaleManifest, Traffic, UndoRolloutManifest
from .notifications import Notification
from .options import WEEKDAYS, WEEKEND, Day, ExecutionWindow, FailureOption, Jitter, TimeWindow
from .pipeline import Parameter, Pipeline
from .stage import Parallel, Stage
from .terraform import Terraform
from .trigger import Trigger
from .triggers import CronTrigger, GitTrigger, JenkinsTrigger, PipelineTrigger, WebhookTrigger
from .webhook import Webhook

__all__ = [
    "Bake",
    "CheckPreconditions",
    "CloneServerGroup",
    "Cluster",
    "ClusterSizePrecondition",
    "CreateServerGroup",
    "CronTrigger",
    "CustomStrategy",
    "Day",
    "DeleteAsgScheduledActions",
    "DeleteLoadBalancer",
    "DeleteManifest",
    "DeleteScalingPolicy",
    "DeleteSecurityGroup",
    "Deploy",
    "DeployManifest",
    "DestroyServerGroup",
    "DisableCluster",
    "DisableServerGroup",
    "EnableServerGroup",
    "EvaluateVariables",
    "ExecutionWindow",
    "expr",
    "ExpressionPrecondition",
    "FailureOption",
    "FindAmi",
    "FindImage",
    "FindImageFromTags",
    "GitTrigger",
    "Highlander",
    "Jenkins",
    "JenkinsTrigger",
    "GitHubActions",
    "GitHubActionsTrigger",
    "GitLabCi",
    "GitLabCiTrigger",
    "Travis",
    "TravisTrigger",
    "Jitter",
    "KayentaCanary",
    "ManualJudgment",
    "Notification",
    "Parallel",
    "Parameter",
    "PatchManifest",
    "Pipeline",
    "PipelineBuildError",
    "PipelineTrigger",
    "Precondition",
    "RedBlack",
    "ResizeServerGroup",
    "RollbackCluster",
    "RollbackServerGroup",
    "RollingRedBlack",
    "RunJobManifest",
    "RunPipeline",
    "ScaleDownCluster",
    "ScaleManifest",
    "Script",
    "ShrinkCluster",
    "Stage",
    "StageStatusPrecondition",
    "Terraform",
    "TimeWindow",
    "Traffic",
    "Trigger",
    "UndoRolloutManifest",
    "UpdateLaunchTemplate",
    "UpsertAsgScheduledActions",
    "UpsertImageTags",
    "UpsertLoadBalancer",
    "UpsertScalingPolicy",
    "UpsertSecurityGroup",
    "Variable",
    "Wait",
    "Webhook",
    "WebhookTrigger",
    "WEEKDAYS",
    "WEEKEND",
]
