"""The one exception tree: every error Gennaker raises on purpose derives from :class:`GennakerError`.

A few middle classes say where an error comes from; each module keeps its own leaves, and a leaf keeps its
builtin bases (a ``ValueError`` stays a ``ValueError``), so ``except`` clauses written against either keep
working. The middle classes add no builtin base, so moving a class under one never makes it caught by an
``except ValueError`` that did not catch it before. The tree (middle classes here, leaves in their modules)::

    GennakerError
        ConfigError            settings and account files: core.settings, providers' *_accounts, api.auth.roles,
                               bakery.ImageConfigError, integrations.jenkins.JenkinsConfigError, worker's queues
        InvalidInputError      a user's document or request is malformed (400, never retried)
            FieldError         one field has a shape Spinnaker would not read (core.fields)
            InvalidPipelineError (also an EngineError), templates.TemplateError, DinghyTemplateError,
            CronError, InvalidTerraformStage, StageInputError, PercentageError, YamlLimitError
        StoreError             core.store.errors: NotFoundError, ConflictError, StaleError, ValidationError
        StateLocked            core.store.terraform: a Terraform state lock is held
        EngineError            the engine (workflows, activities): InvalidPipelineError, ExpressionError,
                               ExecutionNotFoundError, OperationRefusedError, WebhookError ...
        ProviderError          a cloud provider: providers.base.CloudError (transient, throttled, not found,
                               invalid request), manifests, names, server-group targets
        IntegrationError       an outside system besides the clouds: Jenkins, git, Dinghy, Terraform,
                               notifications, triggers, outbound HTTP, the payload blob store
        bakery.BakeryError     Rosco's bakes: a request, bake options, packer
        CanaryError            canary/: Kayenta's requests, Prometheus queries, judges, backtests
        ApiError               an answer the API gives on purpose, with its HTTP status (api.errors translates)
        AuthError              authentication: sessions, tokens, sealed secrets, OIDC
        SdkError               the SDK and CLI (gennaker/): GateError (Gate answered with an error) and its
                               BadRequest/NotFound/Conflict/ApiConnectionError, ApplyError, PipelineBuildError,
                               DevServerError, TemporalConnectError
        MissingBlobError, BadReferenceError   the payload codec's, also Temporal ApplicationErrors

Temporal's and HTTP's own errors are recognised by their codes, never by their message text: see
:func:`temporal_not_found` and the callers that check ``RPCError.status``, a failure's ``type`` or an HTTP status.
"""

from __future__ import annotations

from typing import Any


class GennakerError(Exception):
    """Base of every error Gennaker raises on purpose."""


class ConfigError(GennakerError):
    """A setting that cannot be used as configured (its message names the setting)."""


class InvalidInputError(GennakerError):
    """Input from a user is malformed: a pipeline config, a stage's context, a request, a builder's arguments.
    Not worth retrying; the API answers 400."""


class FieldError(InvalidInputError, ValueError):
    """One field has a shape Spinnaker would not read (:mod:`core.fields`); ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class EngineError(GennakerError):
    """An error of the engine (workflows and activities): a pipeline that cannot run, an expression, an
    operation refused by an execution's state."""


class ProviderError(GennakerError):
    """A cloud provider (AWS, GCE, Kubernetes) refused or failed an operation, or its input was wrong."""


class IntegrationError(GennakerError):
    """An outside system other than a cloud (Jenkins, git, Dinghy, Terraform, a notification channel,
    an outbound HTTP call) failed or refused."""


class CanaryError(GennakerError):
    """Kayenta's work: a canary request, a metrics query, a judge, a backtest."""


class ApiError(GennakerError):
    """An error a route raises on purpose, with its HTTP status; api.errors answers it in Gate's error shape."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


class AuthError(GennakerError):
    """Authentication failed or cannot be checked: a session, a token, a sealed secret, an OIDC exchange."""


class SdkError(GennakerError):
    """An error of the SDK or the CLI (gennaker/)."""


def temporal_not_found(err: BaseException) -> bool:
    """Did Temporal answer NOT_FOUND (no such workflow, run or Schedule)? Told by the gRPC status code, never by
    the words, which vary by server and version ("workflow not found for ID", "workflow execution already
    completed" for a deleted Schedule). temporalio is imported here, not at the top, so the SDK stays light."""
    from temporalio.service import RPCError, RPCStatusCode

    return isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND


def temporal_unreachable(err: BaseException) -> bool:
    """Is Temporal's server down or not answering? An RPC that found no server or ran out of time (by the gRPC
    status code), or a lazily connected client's call that could not connect (the SDK raises a plain RuntimeError
    for that, told by its opening words)."""
    from temporalio.service import RPCError, RPCStatusCode

    if isinstance(err, RPCError):
        return err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
    return isinstance(err, RuntimeError) and str(err).startswith("Failed client connect")
