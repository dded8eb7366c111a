"""The base of every Spinnaker document at the API edge.

Spinnaker's documents (pipeline configs, executions, applications...) carry keys no schema lists: stages of any
type, a UI's own fields, a newer Spinnaker's additions. A model here describes the keys Gate's clients rely on, for
the OpenAPI document and for readers, and never changes what passes through it:

- unknown keys are kept (``extra="allow"``), keys keep Spinnaker's camelCase spelling (aliases);
- fields are strict: a value is never coerced (``1`` does not become ``True``, ``"5"`` stays a string);
- a document whose known keys (its parts' too) do not fit their declared types is kept whole as sent, every
  key of it held as an extra key, so the route's own Spinnaker rules answer it with their field-named errors, as
  they did before the models existed.

Documents (what a route takes or answers) derive from :class:`SpinnakerDocument`; the parts inside them (stages,
triggers, tasks...) from :class:`SpinnakerPart`, which keep nothing aside on their own: a part that does not fit
makes its document kept as sent. One fallback per document, not per part, keeps validation in pydantic's core
(a 100-stage config validates in about 2 ms instead of 8).

Dumped with :func:`document` (by alias, only the keys that were sent), a request gives back exactly what the
client sent; a response model serialises exactly the dict the route built.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Strict, ValidationError, ValidatorFunctionWrapHandler, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from core.status import ExecutionStatus

Json = dict[str, Any]

#: a status as Spinnaker writes it (its name), validated against the one enum
Status = Annotated[ExecutionStatus, Strict(False)]


class SpinnakerPart(BaseModel):
    """A JSON object inside a Spinnaker document: known keys typed, unknown keys kept, nothing coerced."""

    model_config = ConfigDict(
        extra="allow",
        alias_generator=to_camel,
        populate_by_name=True,
        strict=True,
        ser_json_inf_nan="constants",
    )


class SpinnakerDocument(SpinnakerPart):
    """A whole document a route takes or answers: a :class:`SpinnakerPart` that is kept as sent when it (or one of
    its parts) does not fit its declared types."""

    @model_validator(mode="wrap")
    @classmethod
    def _kept_as_sent(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Self:
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise PydanticCustomError("json_object", "must be a JSON object, not {kind}", {"kind": _kind(data)})
        try:
            return handler(data)  # type: ignore[no-any-return]
        except ValidationError:
            kept = cls.model_construct()
            kept.__pydantic_fields_set__ = set()
            kept.__pydantic_extra__ = dict(data)
            return kept


def document(model: BaseModel) -> Json:
    """The JSON object a client sent (or a route built), keys spelled as Spinnaker spells them."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a number" if isinstance(value, int | float) and not isinstance(value, bool) else "a boolean"
