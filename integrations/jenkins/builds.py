"""Pure functions between Jenkins' JSON and Spinnaker's: job names, parameters, a build's result as our
status, Igor's ``GenericBuild`` (Orca's ``buildInfo``), Igor's build list and job config shapes.

Everything here takes and returns plain data, so it is tested as tables
(``tests/integrations/jenkins/test_builds.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from core.fields import java_string
from core.status import ExecutionStatus

from .errors import JenkinsRequestError

JSON = dict[str, Any]

#: Igor's ``Result`` enum: the results Jenkins reports
RESULTS = frozenset({"SUCCESS", "UNSTABLE", "BUILDING", "ABORTED", "FAILURE", "NOT_BUILT"})
#: Orca's ``MonitorJenkinsJobTask.JenkinsJobStatus``: result → status and the error users read.
#: NOT_BUILT is ours: Orca does not know it and would poll until its 2 h timeout.
JOB_STATUSES: dict[str, tuple[ExecutionStatus, str | None]] = {
    "SUCCESS": (ExecutionStatus.SUCCEEDED, None),
    "UNSTABLE": (ExecutionStatus.TERMINAL, "Job is unstable"),
    "FAILURE": (ExecutionStatus.TERMINAL, "Job failed (see Jenkins)"),
    "ABORTED": (ExecutionStatus.CANCELED, "Job was aborted (see Jenkins)"),
    "NOT_BUILT": (ExecutionStatus.TERMINAL, "Job was not built (see Jenkins)"),
}
#: Igor's ``BuildArtifactFilter``: at most 20 artifacts, these extensions first
MAX_ARTIFACTS = 20
PREFERRED_ARTIFACTS = ("deb", "rpm", "properties", "yml", "json", "xml", "html", "txt", "nupkg")
#: the job parameter Igor sends to start a parameterized job without parameters (Jenkins drops it)
DEFAULT_START_PARAMETERS = {"startedBy": "igor"}


class BuildOutcome(NamedTuple):
    """A build's state as a task status, with the error breadcrumb Orca adds for failures."""

    status: ExecutionStatus
    error: str | None = None


# ---- names and parameters ------------------------------------------------------------------------


def jenkins_job_name(job: str) -> str:
    """Spinnaker's job name (folders as ``folder/job/name``, as Igor lists them) → python-jenkins'
    (``folder/name``, which it turns back into ``job/folder/job/name`` URLs)."""
    return job.strip().strip("/").replace("/job/", "/")


def spinnaker_job_name(full_name: str) -> str:
    """python-jenkins' ``fullname`` (``folder/name``) → Spinnaker's (``folder/job/name``)."""
    return "/job/".join(part for part in full_name.split("/") if part)


def parameter_text(value: Any) -> str:
    """A parameter value as a query string value: booleans as ``true``/``false``, lists comma-joined,
    maps as JSON, everything else as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(parameter_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def build_parameters(parameters: Any) -> dict[str, str]:
    """The stage's ``parameters`` map as Jenkins query parameters; null values are left out, as
    Retrofit leaves them out of Orca's request."""
    if parameters is None or parameters == "":
        return {}
    if not isinstance(parameters, Mapping):
        raise JenkinsRequestError("parameters must be a map of parameter names to values")
    return {str(name): parameter_text(value) for name, value in parameters.items() if value is not None}


def parameter_definitions(job: Mapping[str, Any]) -> list[JSON]:
    """The job's parameter definitions, from ``property[].parameterDefinitions`` of its ``api/json``."""
    found: list[JSON] = []
    for prop in job.get("property") or []:
        if isinstance(prop, Mapping):
            found.extend(d for d in prop.get("parameterDefinitions") or [] if isinstance(d, dict))
    return found


def start_parameters(job: Mapping[str, Any], name: str, parameters: dict[str, str]) -> dict[str, str] | None:
    """What to send to start ``job`` (Igor's ``BuildController.build``): None means ``build`` without
    parameters. Raises :class:`JenkinsRequestError` for a disabled job, a value outside a choice
    parameter's choices, or parameters for a job that takes none."""
    if job.get("buildable") is False:
        raise JenkinsRequestError(f"Job '{name}' is not buildable. It may be disabled.")
    definitions = parameter_definitions(job)
    for definition in definitions:
        value = parameters.get(str(definition.get("name")))
        raw = definition.get("choices")
        choices = [str(c) for c in raw] if isinstance(raw, list) else None
        is_choice = definition.get("type") == "ChoiceParameterDefinition" and choices is not None
        if value is not None and is_choice and choices is not None and value not in choices:
            raise JenkinsRequestError(
                f"`{value}` is not a valid choice for `{definition.get('name')}`. "
                f"Valid choices are: {', '.join(choices)}"
            )
    if definitions:
        return parameters or dict(DEFAULT_START_PARAMETERS)
    if parameters:
        raise JenkinsRequestError(f"job : {name}, passing params to a job which doesn't need them")
    return None


def build_parameter_values(item: Mapping[str, Any]) -> dict[str, str]:
    """The parameters a queue item or build carries (``actions[].parameters``); hidden values are left out."""
    values: dict[str, str] = {}
    for action in item.get("actions") or []:
        if not isinstance(action, Mapping):
            continue
        for parameter in action.get("parameters") or []:
            if isinstance(parameter, Mapping) and "name" in parameter and "value" in parameter:
                values[str(parameter["name"])] = parameter_text(parameter["value"])
    return values


def same_parameters(sent: Mapping[str, str], seen: Mapping[str, str]) -> bool:
    """Could a build that carries ``seen`` be the one started with ``sent``? Jenkins drops parameters
    the job does not define and hides passwords, so only names both sides show are compared."""
    return all(seen[name].lower() == value.lower() for name, value in sent.items() if name in seen)


def started_by(item: Mapping[str, Any]) -> set[str]:
    """The user ids in a queue item's or build's ``CauseAction``s."""
    users: set[str] = set()
    for action in item.get("actions") or []:
        if isinstance(action, Mapping):
            for cause in action.get("causes") or []:
                if isinstance(cause, Mapping) and isinstance(cause.get("userId"), str):
                    users.add(cause["userId"])
    return users


# ---- queue items and build results ---------------------------------------------------------------


def queued_build_number(item: Mapping[str, Any]) -> int | None:
    """The build a queue item became (``executable.number``), or None while it waits."""
    executable = item.get("executable")
    if isinstance(executable, Mapping) and executable.get("number") is not None:
        return int(executable["number"])
    return None


def queue_item_cancelled(item: Mapping[str, Any]) -> bool:
    """Was the queue item canceled in Jenkins before it started (a ``LeftItem`` with ``cancelled``)?"""
    return item.get("cancelled") is True and queued_build_number(item) is None


def _flag(value: Any) -> bool:
    """Orca's ``x && x != 'false'`` on a field that may be a boolean or text."""
    return bool(value) and value != "false"


def build_outcome(build: Mapping[str, Any], mark_unstable_as_successful: bool = False) -> BuildOutcome:
    """Orca's ``MonitorJenkinsJobTask``: a building (or running) build is RUNNING whatever its result;
    then SUCCESS → SUCCEEDED, UNSTABLE → TERMINAL (SUCCEEDED with ``markUnstableAsSuccessful``),
    FAILURE → TERMINAL, ABORTED → CANCELED; no result yet, or one Orca does not know, is RUNNING."""
    if _flag(build.get("building")) or _flag(build.get("running")):
        return BuildOutcome(ExecutionStatus.RUNNING)
    result = build.get("result")
    known = JOB_STATUSES.get(result) if isinstance(result, str) else None
    if known is None:
        return BuildOutcome(ExecutionStatus.RUNNING)
    if result == "UNSTABLE" and mark_unstable_as_successful:
        return BuildOutcome(ExecutionStatus.SUCCEEDED)
    return BuildOutcome(*known)


# ---- Igor's shapes -------------------------------------------------------------------------------


def _without_nulls(data: JSON) -> JSON:
    return {k: v for k, v in data.items() if v is not None}


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    """Igor's (Java's) text of a value in Jenkins' JSON: ``true``, not Python's ``True``."""
    return None if value is None else java_string(value)


def _extension(file_name: Any) -> str | None:
    if not isinstance(file_name, str) or "." not in file_name:
        return None
    return file_name.rsplit(".", 1)[1].lower()


def filter_artifacts(artifacts: list[JSON], limit: int = MAX_ARTIFACTS) -> list[JSON]:
    """Igor's ``BuildArtifactFilter``: up to ``limit`` artifacts, preferred extensions first (stable)."""
    if len(artifacts) <= limit:
        return artifacts

    def priority(artifact: JSON) -> int:
        ext = _extension(artifact.get("fileName"))
        return PREFERRED_ARTIFACTS.index(ext) if ext in PREFERRED_ARTIFACTS else len(PREFERRED_ARTIFACTS)

    return sorted(artifacts, key=priority)[:limit]


def build_artifacts(job: str, build: Mapping[str, Any]) -> list[JSON]:
    """A build's archived files as Igor's ``GenericArtifact`` (type ``jenkins/file``), before filtering."""
    number = build.get("number")
    out = []
    for artifact in build.get("artifacts") or []:
        if not isinstance(artifact, Mapping):
            continue
        relative = _text(artifact.get("relativePath"))
        out.append(
            _without_nulls(
                {
                    "fileName": _text(artifact.get("fileName")),
                    "displayPath": _text(artifact.get("displayPath")),
                    "relativePath": relative,
                    "reference": relative,
                    "name": job,
                    "type": "jenkins/file",
                    "version": _text(number),
                }
            )
            | {"decorated": False}
        )
    return out


def build_test_results(build: Mapping[str, Any]) -> list[JSON]:
    """The build's test report summaries (the actions that have a ``totalCount``)."""
    out = []
    for action in build.get("actions") or []:
        if isinstance(action, Mapping) and "totalCount" in action:
            out.append(
                {
                    "failCount": _int(action.get("failCount")) or 0,
                    "skipCount": _int(action.get("skipCount")) or 0,
                    "totalCount": _int(action.get("totalCount")) or 0,
                    "urlName": _text(action.get("urlName")),
                }
            )
    return out


def scm_revisions(build: Mapping[str, Any]) -> list[JSON]:
    """Igor's ``ScmDetails.genericGitRevisions``: the git plugin's ``lastBuiltRevision`` (before 4.0) or
    ``build.revision`` (4.0 on), one entry per branch, each sha1 once."""
    out: list[JSON] = []
    seen: set[Any] = set()
    for action in build.get("actions") or []:
        if not isinstance(action, Mapping):
            continue
        revision = action.get("lastBuiltRevision")
        details = action.get("build")
        if not isinstance(revision, Mapping) and isinstance(details, Mapping):
            revision = details.get("revision")
        if not isinstance(revision, Mapping):
            continue
        urls = action.get("remoteUrls")
        remote = urls[0] if isinstance(urls, list) and urls else action.get("remoteUrl")
        for branch in revision.get("branch") or []:
            if not isinstance(branch, Mapping) or not branch.get("name"):
                continue
            sha1 = branch.get("SHA1")
            if sha1 in seen:
                continue
            seen.add(sha1)
            name = str(branch["name"])
            out.append(
                _without_nulls({"name": name, "branch": name.split("/")[-1], "sha1": sha1, "remoteUrl": _text(remote)})
            )
    return out


def build_info(job: str, build: Mapping[str, Any]) -> JSON:
    """Igor's ``GenericBuild`` for a build's ``api/json``: what Orca keeps as ``buildInfo`` and Gate
    serves from ``/v3/builds/{master}/build/{number}``. Null fields are left out, as Igor's are."""
    number = _int(build.get("number")) or 0
    result = build.get("result")
    artifacts = filter_artifacts(build_artifacts(job, build))
    tests = build_test_results(build)
    scm = scm_revisions(build)
    return _without_nulls(
        {
            "building": _flag(build.get("building")),
            "fullDisplayName": _text(build.get("fullDisplayName")),
            "name": job,
            "number": number,
            "duration": _int(build.get("duration")),
            "timestamp": _text(build.get("timestamp")),
            "result": result if result in RESULTS else None,
            "artifacts": artifacts or None,
            "testResults": tests or None,
            "url": _text(build.get("url")),
            "id": f"{job}-{number}",
            "scm": scm or None,
        }
    )


def build_summary(build: Mapping[str, Any]) -> JSON:
    """One entry of Igor's build list (``/builds/all/{master}/{job}``, Gate's ``/v3/builds/{master}/builds``)."""
    tests = build_test_results(build)
    return _without_nulls(
        {
            "building": _flag(build.get("building")),
            "number": _int(build.get("number")),
            "result": _text(build.get("result")),
            "timestamp": _text(build.get("timestamp")),
            "duration": _int(build.get("duration")),
            "url": _text(build.get("url")),
            "fullDisplayName": _text(build.get("fullDisplayName")),
            "testResults": tests or None,
        }
    )


def _related(projects: Any) -> list[JSON] | None:
    if not isinstance(projects, list) or not projects:
        return None
    return [
        {"name": p.get("name"), "url": p.get("url"), "color": p.get("color")}
        for p in projects
        if isinstance(p, Mapping)
    ]


def _parameter_definition(definition: Mapping[str, Any]) -> JSON:
    default = definition.get("defaultParameterValue")
    default = default if isinstance(default, Mapping) else None
    out: JSON = {
        "defaultParameterValue": (
            {"name": _text(default.get("name")), "value": _parameter_value(default.get("value"))} if default else None
        ),
        "name": _text(definition.get("name")),
        "description": _text(definition.get("description")) or None,
        "type": _text(definition.get("type")),
        "defaultValue": _parameter_value(default.get("value")) if default else None,
        "defaultName": _text(default.get("name")) if default else None,
    }
    if isinstance(definition.get("choices"), list):
        out["choices"] = [str(c) for c in definition["choices"]]
    return out


def _parameter_value(value: Any) -> str | None:
    return None if value is None else parameter_text(value)


def job_config(job: Mapping[str, Any]) -> JSON:
    """Igor's ``JobConfig`` for a job's ``api/json`` (Gate's ``/v3/builds/{master}/job?job=``): what Deck
    shows as the job's parameters. Null fields are kept, as Igor's are."""
    definitions = parameter_definitions(job)
    return {
        "description": _text(job.get("description")) or None,
        "displayName": _text(job.get("displayName")),
        "name": _text(job.get("name")),
        "buildable": job.get("buildable") is not False,
        "color": _text(job.get("color")),
        "url": _text(job.get("url")),
        "parameterDefinitionList": [_parameter_definition(d) for d in definitions] or None,
        "upstreamProjectList": _related(job.get("upstreamProjects")),
        "downstreamProjectList": _related(job.get("downstreamProjects")),
        "concurrentBuild": job.get("concurrentBuild") is True,
    }


def job_names(jobs: Iterable[Mapping[str, Any]]) -> list[str]:
    """Igor's job list (``/jobs/{master}``): every job that is not a folder, folders as ``a/job/b``."""
    names = []
    for job in jobs:
        if "jobs" in job or not isinstance(job.get("fullname"), str):
            continue  # a folder (Igor would list an empty folder as a job)
        names.append(spinnaker_job_name(job["fullname"]))
    return names
