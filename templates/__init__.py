"""Managed pipeline templates v2 (MPTv2): template documents, their checks, references, and rendering.

Pure: no I/O. Whoever renders passes a ``load(reference) -> template`` callable (the store's, in the API
and the triggers). See docs/pipelines-as-code.md.
"""

from templates.documents import (
    TAGS,
    Reference,
    TemplateError,
    digest,
    is_templated,
    parse_reference,
    validate_config,
    validate_template,
)
from templates.render import Loader, render, trigger_view

__all__ = [
    "TAGS",
    "Loader",
    "Reference",
    "TemplateError",
    "digest",
    "is_templated",
    "parse_reference",
    "render",
    "trigger_view",
    "validate_config",
    "validate_template",
]
