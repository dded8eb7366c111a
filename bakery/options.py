"""``GET /bakery/options[/{cloudProvider}]``: Rosco's ``/bakeOptions`` as Gate passes it through.

``[{"cloudProvider": "aws", "baseImages": [{"id", "shortDescription", "detailedDescription",
"packageType": "DEB", "templateFile", "osType": "linux", ...}]}]``; GCE base images add
``isImageFamily``. Unset fields are left out. The bakery's own fields (install script, virtualization
settings) are not shown.
"""

from __future__ import annotations

from typing import Any

from .errors import BakeOptionsNotFoundError
from .images import BaseImage, ImageConfig


def base_image_json(image: BaseImage, provider: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": image.id,
        "shortDescription": image.short_description,
        "detailedDescription": image.detailed_description,
        "packageType": image.package_type.upper(),
        "templateFile": image.template_file,
        "osType": image.os_type,
        "customRepository": image.custom_repository,
    }
    if provider == "gce":
        out["isImageFamily"] = image.is_image_family
    return {k: v for k, v in out.items() if v is not None}


def provider_options(images: ImageConfig, provider: str) -> dict[str, Any]:
    """One cloud's options; raises :class:`BakeOptionsNotFoundError` for a cloud without base images."""
    config = images.providers.get(provider)
    if config is None:
        raise BakeOptionsNotFoundError(f"Bake options not found. Cloud provider {provider} not found")
    return {
        "cloudProvider": provider,
        "baseImages": [base_image_json(entry.base_image, provider) for entry in config.base_images],
    }


def bake_options(images: ImageConfig, cloud_provider: str | None = None) -> list[dict[str, Any]] | dict[str, Any]:
    """``GET /bakery/options`` (a list, one entry per cloud) or ``GET /bakery/options/{cloudProvider}``."""
    if cloud_provider is not None:
        return provider_options(images, cloud_provider)
    return [provider_options(images, provider) for provider in images.providers]


def base_image_option(images: ImageConfig, cloud_provider: str, image_id: str) -> dict[str, Any]:
    """Rosco's ``/bakeOptions/{cloudProvider}/baseImages/{imageId}``."""
    options = provider_options(images, cloud_provider)
    for image in options["baseImages"]:
        if image["id"] == image_id:
            return image  # type: ignore[no-any-return]
    known = ", ".join(i["id"] for i in options["baseImages"])
    raise BakeOptionsNotFoundError(
        f"Bake options not found. Can't find base image with id {image_id} in {cloud_provider} base images: {known}"
    )
