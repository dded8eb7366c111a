"""``findImageFromTags`` (an image by package name and tags) and ``findImage`` (the image a cluster runs):
``amiDetails`` in the context and ``deploymentDetails`` in the outputs, which deploys downstream use."""

from __future__ import annotations

from .base import JSON, StageDefinition, TaskSpec


class FindImageFromTagsStage(StageDefinition):
    type = "findImageFromTags"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            TaskSpec(
                "findImage",
                "com.netflix.spinnaker.orca.clouddriver.tasks.image.FindImageFromTagsTask",
                activity="find_image",
            )
        ]


class FindImageStage(StageDefinition):
    type = "findImage"
    aliases = ("findAmi",)

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            TaskSpec(
                "findImage",
                "com.netflix.spinnaker.orca.clouddriver.tasks.image.FindImageFromClusterTask",
                activity="find_image",
            )
        ]
