"""Every stage type the engine runs, as one explicit tuple: the stage registry reads :data:`STAGES`.

A new stage type is a class in its own module (``workflows/stages/<type>.py``) and one line here; nothing
registers itself by being imported. Orca's ``StageDefinitionBuilder`` beans, listed.
"""

from __future__ import annotations

from .bake import BakeStage
from .base import StageDefinition
from .check_preconditions import CheckPreconditionsStage
from .ci import GetCiPropertiesStage, GitHubActionsStage, GitLabCiStage, TravisStage
from .clusters import DisableClusterStage, ScaleDownClusterStage, ShrinkClusterStage
from .deploy import DeployStage
from .evaluate_variables import EvaluateVariablesStage
from .execution_window import ExecutionWindowStage
from .find_image import FindImageFromTagsStage, FindImageStage
from .infrastructure import (
    DeleteAsgScheduledActionsStage,
    DeleteLoadBalancerStage,
    DeleteScalingPolicyStage,
    DeleteSecurityGroupStage,
    UpdateLaunchTemplateStage,
    UpsertAsgScheduledActionsStage,
    UpsertImageTagsStage,
    UpsertLoadBalancerStage,
    UpsertScalingPolicyStage,
    UpsertSecurityGroupStage,
)
from .jenkins import GetPropertiesStage, JenkinsStage, ScriptStage
from .kayenta_canary import KayentaCanaryStage, RunCanaryStage
from .kayenta_deploy import DeployCanaryServerGroupsStage
from .manifest import (
    DeleteManifestStage,
    DeployManifestStage,
    PatchManifestStage,
    ScaleManifestStage,
    UndoRolloutManifestStage,
)
from .manual_judgment import ManualJudgmentStage
from .pipeline_stage import PipelineStage
from .rolling import PinServerGroupStage
from .run_job_manifest import RunJobManifestStage
from .server_groups import (
    DestroyServerGroupStage,
    DisableServerGroupStage,
    EnableServerGroupStage,
    ResizeServerGroupStage,
    RollbackClusterStage,
    RollbackServerGroupStage,
)
from .terraform import TerraformStage
from .wait import WaitStage
from .webhook import WebhookStage

STAGES: tuple[type[StageDefinition], ...] = (
    BakeStage,
    CheckPreconditionsStage,
    DisableClusterStage,
    ShrinkClusterStage,
    ScaleDownClusterStage,
    DeployStage,
    EvaluateVariablesStage,
    ExecutionWindowStage,
    FindImageFromTagsStage,
    FindImageStage,
    UpsertSecurityGroupStage,
    DeleteSecurityGroupStage,
    UpsertLoadBalancerStage,
    DeleteLoadBalancerStage,
    UpsertScalingPolicyStage,
    DeleteScalingPolicyStage,
    UpsertAsgScheduledActionsStage,
    DeleteAsgScheduledActionsStage,
    UpsertImageTagsStage,
    UpdateLaunchTemplateStage,
    JenkinsStage,
    ScriptStage,
    GetPropertiesStage,
    TravisStage,
    GitHubActionsStage,
    GitLabCiStage,
    GetCiPropertiesStage,
    KayentaCanaryStage,
    RunCanaryStage,
    DeployCanaryServerGroupsStage,
    DeployManifestStage,
    DeleteManifestStage,
    ScaleManifestStage,
    PatchManifestStage,
    UndoRolloutManifestStage,
    ManualJudgmentStage,
    PipelineStage,
    PinServerGroupStage,
    RunJobManifestStage,
    DisableServerGroupStage,
    EnableServerGroupStage,
    DestroyServerGroupStage,
    ResizeServerGroupStage,
    RollbackServerGroupStage,
    RollbackClusterStage,
    TerraformStage,
    WaitStage,
    WebhookStage,
)
