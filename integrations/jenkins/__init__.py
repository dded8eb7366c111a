"""Igor's Jenkins half: Jenkins masters from the settings, a client per master around python-jenkins,
and the pure rules between Jenkins' JSON and Spinnaker's (results → statuses, ``buildInfo``, property
files). ``activities/jenkins.py`` uses them for the ``jenkins`` and ``script`` stages; Gate's builds
endpoints use :class:`JenkinsMasters`.
"""

from core.settings.jenkins import SECRET_FIELDS, JenkinsMaster, JenkinsSettings, ScriptJobSettings, jenkins_masters

from .builds import BuildOutcome, build_info, build_outcome, build_summary, job_config, job_names
from .client import ConsoleText, JenkinsClient, JenkinsMasters, StartedBuild, UnknownMasterError
from .errors import (
    JenkinsAuthError,
    JenkinsConfigError,
    JenkinsError,
    JenkinsNotFoundError,
    JenkinsRequestError,
    JenkinsResponseError,
    JenkinsUnreachableError,
)
from .properties import PropertyFileError, parse_java_properties, parse_property_file

__all__ = [
    "SECRET_FIELDS",
    "BuildOutcome",
    "ConsoleText",
    "JenkinsAuthError",
    "JenkinsClient",
    "JenkinsConfigError",
    "JenkinsError",
    "JenkinsMaster",
    "JenkinsMasters",
    "JenkinsNotFoundError",
    "JenkinsRequestError",
    "JenkinsResponseError",
    "JenkinsSettings",
    "JenkinsUnreachableError",
    "PropertyFileError",
    "ScriptJobSettings",
    "StartedBuild",
    "UnknownMasterError",
    "build_info",
    "build_outcome",
    "build_summary",
    "jenkins_masters",
    "job_config",
    "job_names",
    "parse_java_properties",
    "parse_property_file",
]
