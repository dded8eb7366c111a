"""Rosco's documents as Gate passes them through: the bake options (the base images of each cloud)."""

from __future__ import annotations

from .base import SpinnakerDocument


class BaseImage(SpinnakerDocument):
    """A base image a bake can start from; fields the image config leaves unset are left out."""

    id: str
    short_description: str | None = None
    detailed_description: str | None = None
    package_type: str | None = None
    template_file: str | None = None
    os_type: str | None = None
    custom_repository: str | None = None
    is_image_family: bool | None = None


class BakeOptions(SpinnakerDocument):
    """One cloud's bake options (Rosco's ``BakeOptions``)."""

    cloud_provider: str
    base_images: list[BaseImage]
