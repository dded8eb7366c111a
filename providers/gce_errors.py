"""google-cloud-compute's errors as the providers' :class:`~providers.base.CloudError` tree.

:func:`error_class` is the rule (an HTTP status and Compute's error reasons in, a class out), table-tested
on its own; :func:`translate` applies it to a raised exception and :func:`gce_call` wraps a block of
client calls with it. :func:`operation_error` does the same for a long-running operation that ended
with an ``error``. Messages name the action, the account and region, and Compute's own words; the
client never puts credentials (OAuth tokens travel in headers) in them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions

from .base import CloudError, InvalidRequestError, NotFoundCloudError, ThrottledError, TransientCloudError

#: Compute's "slow down" reasons: a 403 ``rateLimitExceeded`` is a throttle, not a permission problem
THROTTLING_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED", "RATE_LIMIT_EXCEEDED_PER_USER"}
)
#: worth another try: Compute's side failed, or the resource is busy with an earlier change
TRANSIENT_REASONS = frozenset(
    {
        "backendError",
        "internalError",
        "resourceNotReady",
        "conditionNotMet",  # a fingerprint moved under us: read again, then act
        "ZONE_RESOURCE_POOL_EXHAUSTED",
        "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS",
        "RESOURCE_NOT_READY",
        "INTERNAL_ERROR",
        "SERVICE_UNAVAILABLE",
        "RESOURCE_OPERATION_RATE_EXCEEDED",
    }
)
NOT_FOUND_REASONS = frozenset({"notFound", "RESOURCE_NOT_FOUND"})
INVALID_REASONS = frozenset(
    {
        "invalid",
        "invalidParameter",
        "badRequest",
        "required",
        "alreadyExists",
        "resourceInUseByAnotherResource",
        "QUOTA_EXCEEDED",
        "RESOURCE_ALREADY_EXISTS",
        "INVALID_FIELD_VALUE",
        "INVALID_USAGE",
        "UNSUPPORTED_OPERATION",
    }
)
#: neither retrying nor rewording the request helps: credentials or permissions are wrong
AUTH_REASONS = frozenset({"forbidden", "insufficientPermissions", "authError", "accessNotConfigured"})


def error_class(status: int | None, reasons: Iterable[str] = ()) -> type[CloudError]:
    """The CloudError subclass for an HTTP status and the ``errors[].reason`` (or operation error
    ``code``) strings Compute sent with it."""
    why = set(reasons)
    if status == 429 or why & THROTTLING_REASONS:
        return ThrottledError
    if why & AUTH_REASONS or status in (401, 403):
        return CloudError
    if status == 404 or why & NOT_FOUND_REASONS:
        return NotFoundCloudError
    if why & TRANSIENT_REASONS or status in (408, 412) or (status is not None and status >= 500):
        return TransientCloudError
    if why & INVALID_REASONS or status in (400, 409, 422):
        return InvalidRequestError
    return CloudError


def _reasons(err: api_exceptions.GoogleAPICallError) -> list[str]:
    found = [str(e.get("reason")) for e in err.errors or () if isinstance(e, dict) and e.get("reason")]
    if err.reason:
        found.append(str(err.reason))
    return found


def translate(err: BaseException, action: str) -> CloudError:
    """A CloudError for ``err`` raised while doing ``action`` (e.g. ``"resizing app-v001 in prod/us-east1"``)."""
    if isinstance(err, CloudError):
        return err
    if isinstance(err, api_exceptions.GoogleAPICallError):
        status = err.code if isinstance(err.code, int) else None
        return _with_reasons(error_class(status, _reasons(err))(f"{action}: {err.message}"), _reasons(err))
    if isinstance(err, api_exceptions.RetryError | requests.ConnectionError | requests.Timeout):
        return TransientCloudError(f"{action}: {type(err).__name__}: {err}")
    if isinstance(err, auth_exceptions.TransportError) or (
        isinstance(err, auth_exceptions.RefreshError) and err.retryable
    ):
        return TransientCloudError(f"{action}: could not reach Google's token service ({type(err).__name__})")
    if isinstance(err, auth_exceptions.GoogleAuthError):
        # no credentials found, or a key Google refuses: configuration, and its text may quote the key
        return CloudError(f"{action}: credentials: {type(err).__name__}")
    return CloudError(f"{action}: {type(err).__name__}")


@contextmanager
def gce_call(action: str) -> Iterator[None]:
    """Run Compute client calls, raising their failures as CloudErrors that name ``action``."""
    try:
        yield
    except CloudError:
        raise
    except (
        api_exceptions.GoogleAPIError,
        auth_exceptions.GoogleAuthError,
        requests.RequestException,
    ) as err:
        raise translate(err, action) from err


def operation_error(operation: Any, action: str) -> CloudError | None:
    """The CloudError a finished Compute operation carries (``error.errors[]``), or None if it succeeded."""
    errors = list(operation.error.errors)
    if not errors:
        return None
    codes = [str(e.code) for e in errors if e.code]
    status = int(operation.http_error_status_code) if operation.http_error_status_code else None
    message = "; ".join(f"{e.code}: {e.message}" if e.code else str(e.message) for e in errors)
    return _with_reasons(error_class(status, codes)(f"{action}: {message}"), codes)


def _with_reasons(err: CloudError, reasons: Iterable[str]) -> CloudError:
    err.reasons = frozenset(reasons)
    return err
