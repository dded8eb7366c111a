"""The one exception tree of the Jenkins integration; the client translates python-jenkins and requests
errors into it, activities translate it into task results (TERMINAL) or retryable Temporal errors.

::

    JenkinsError
    ├── JenkinsUnreachableError   no answer, a timeout or a 5xx: retryable
    ├── JenkinsAuthError          401/403: the credentials (or a crumb) were refused
    ├── JenkinsNotFoundError      404: no such job, build, queue item or artifact
    ├── JenkinsRequestError       Jenkins refused the request (400, 405, 409...), or we refuse to send it
    ├── JenkinsResponseError      an answer we cannot read (not JSON, no Location header)
    └── JenkinsConfigError        no such master, or a master that cannot be used as configured

Messages name the master, the job and what failed; they never carry credentials, response bodies
or URLs with user info in them.
"""

from __future__ import annotations

from core.errors import ConfigError, IntegrationError


class JenkinsError(IntegrationError):
    """Base of every Jenkins error. ``retryable`` says whether the same call may succeed later."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: the HTTP status Jenkins answered with, when there was one
        self.status = status


class JenkinsUnreachableError(JenkinsError):
    """Jenkins did not answer (refused, reset, timed out) or answered 5xx: try again later.

    ``maybe_sent`` is False only when the request certainly never reached Jenkins (the connection
    was never made), which matters for the calls that start builds.
    """

    retryable = True

    def __init__(self, message: str, *, status: int | None = None, maybe_sent: bool = True) -> None:
        super().__init__(message, status=status)
        self.maybe_sent = maybe_sent


class JenkinsAuthError(JenkinsError):
    """Jenkins refused the credentials (401) or the user may not do this (403)."""


class JenkinsNotFoundError(JenkinsError):
    """Jenkins answered 404: no such job, build, queue item or artifact."""


class JenkinsRequestError(JenkinsError):
    """A request Jenkins refused (4xx other than 401/403/404), or one that is wrong before it is sent
    (a disabled job, a parameter outside its choices)."""


class JenkinsResponseError(JenkinsError):
    """An answer that cannot be read: not JSON, or a build start without a queue item location.
    Retryable: a proxy in front of Jenkins answering an error page is the usual cause."""

    retryable = True


class JenkinsConfigError(JenkinsError, ConfigError):
    """No master of that name, or a master whose settings cannot work (CSRF required but not offered)."""
