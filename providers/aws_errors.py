"""botocore's errors as the providers' :class:`~providers.base.CloudError` tree.

:func:`error_class` is the rule (an AWS error code, the HTTP status and the message in, a class out),
table-tested on its own; :func:`translate` applies it to a raised botocore exception and
:func:`aws_call` wraps a block of boto3 calls with it. Messages say which call failed, in which
account and region, and AWS's own words; botocore never puts credentials in them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ParamValidationError,
    ReadTimeoutError,
)

from .base import CloudError, InvalidRequestError, NotFoundCloudError, ThrottledError, TransientCloudError

#: "slow down" codes (botocore's own throttling list, plus the EC2 and ASG spellings)
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "EC2ThrottledException",
        "BandwidthLimitExceeded",
        "PriorRequestNotComplete",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
    }
)
#: worth another try: AWS's side failed, or the resource is busy with an earlier change
TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServiceError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "Unavailable",
        "RequestTimeout",
        "RequestTimeoutException",
        "IDPCommunicationError",
        "ResourceContention",  # ASG: "You already have a pending update to an Auto Scaling resource"
        "ScalingActivityInProgress",
        "ResourceInUse",
    }
)
#: the caller's credentials or permissions are wrong: neither retrying nor rewording the request helps
AUTH_CODES = frozenset(
    {
        "AuthFailure",
        "UnauthorizedOperation",
        "AccessDenied",
        "AccessDeniedException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "OptInRequired",
    }
)
#: the request is wrong as given (plus every ``Invalid*`` and ``*.Malformed`` code)
INVALID_CODES = frozenset(
    {
        "ValidationError",
        "ValidationException",
        "MissingParameter",
        "InvalidParameterValue",
        "InvalidParameterCombination",
        "InvalidParameter",
        "InvalidInput",
        "InvalidRequest",
        "InvalidConfigurationRequest",
        "UnsupportedOperation",
        "Unsupported",
        "AlreadyExists",
        "AlreadyExistsFault",
        "DuplicateTargetGroupName",
        "LimitExceeded",
        "LimitExceededException",
        "IdempotentParameterMismatch",
    }
)
_TRANSIENT_TRANSPORT = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
    HTTPClientError,
)


def _is_not_found(code: str, message: str) -> bool:
    if code.endswith(("NotFound", "NotFoundException", ".NotFound")) or code in {"NoSuchEntity", "NotFoundException"}:
        return True
    # the Auto Scaling API answers a missing group with a ValidationError that says so
    return code == "ValidationError" and "not found" in message.lower()


def error_class(code: str, status: int | None = None, message: str = "") -> type[CloudError]:
    """The CloudError subclass for an AWS error code (and its HTTP status when the code says little)."""
    if code in THROTTLING_CODES or status == 429:
        return ThrottledError
    if code in AUTH_CODES:
        return CloudError
    if _is_not_found(code, message):
        return NotFoundCloudError
    if code in TRANSIENT_CODES or (status is not None and status >= 500):
        return TransientCloudError
    if code in INVALID_CODES or code.startswith("Invalid") or code.endswith((".Malformed", ".Duplicate")):
        return InvalidRequestError
    if status == 404:
        return NotFoundCloudError
    if status in (400, 409, 422):
        return InvalidRequestError
    return CloudError


def translate(err: Exception, action: str) -> CloudError:
    """A CloudError for ``err`` raised while doing ``action`` (e.g. ``"resizing app-v001 in prod/us-east-1"``)."""
    if isinstance(err, CloudError):
        return err
    if isinstance(err, ClientError):
        error = err.response.get("Error") or {}
        code = str(error.get("Code") or "Unknown")
        message = str(error.get("Message") or "")
        status = (err.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return error_class(code, status, message)(f"{action}: {code}: {message}".rstrip(": "))
    if isinstance(err, _TRANSIENT_TRANSPORT):
        return TransientCloudError(f"{action}: {err}")
    if isinstance(err, ParamValidationError):
        return InvalidRequestError(f"{action}: {err}")
    if isinstance(err, BotoCoreError):  # no credentials, no region, a bad endpoint: configuration
        return CloudError(f"{action}: {type(err).__name__}: {err}")
    return CloudError(f"{action}: {type(err).__name__}")


@contextmanager
def aws_call(action: str) -> Iterator[None]:
    """Run boto3 calls, raising botocore's failures as CloudErrors that name ``action``."""
    try:
        yield
    except (ClientError, BotoCoreError) as err:
        raise translate(err, action) from err


def error_code(err: BaseException) -> str:
    """The AWS error code of a ClientError (or of the ClientError a CloudError was raised from), else ''."""
    cause = err if isinstance(err, ClientError) else err.__cause__
    if isinstance(cause, ClientError):
        return str((cause.response.get("Error") or {}).get("Code") or "")
    return ""
