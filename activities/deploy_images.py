"""``findImageFromTags`` and ``findImage``: the image to deploy, per region, as ``deploymentDetails``."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from core.tasks import TaskInput, TaskResult
from providers import targets
from providers.base import NotFoundCloudError

from .deploy_base import JSON, ProviderSessions, guarded


class ImageActivities:
    """Find images for the deploys downstream."""

    def __init__(self, sessions: ProviderSessions) -> None:
        self.sessions = sessions

    @activity.defn(name="find_image")
    def find_image(self, inp: TaskInput) -> TaskResult:
        """``findImageFromTags`` (package + tags) and ``findImage`` (the image a cluster runs), per region,
        answered as ``amiDetails`` / ``deploymentDetails`` for the deploys downstream."""
        return guarded(self._find_image)(inp)

    def _find_image(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        provider = str(ctx.get("cloudProvider") or ctx.get("cloudProviderType") or "aws")
        cloud = self.sessions.cloud(provider)
        account = str(ctx.get("credentials") or ctx.get("account") or (cloud.accounts() or [""])[0])
        details: list[JSON] = []
        for region in ctx.get("regions") or []:
            if inp.stage_type in ("findImage", "findAmi"):
                groups = [
                    g
                    for g in cloud.server_groups(account, str(region), str(ctx.get("cluster")))
                    if not (ctx.get("onlyEnabled", True) and g.disabled)
                ]
                if not groups:
                    raise NotFoundCloudError(f"cluster: no server group of {ctx.get('cluster')} in {region}")
                group = targets.newest_first(groups)[0]
                image_id, image_name = group.image_id, group.image_name
            else:
                raw_tags = ctx.get("tags")
                tags: dict[str, Any] = raw_tags if isinstance(raw_tags, dict) else {}
                images = cloud.find_images(
                    account, str(region), package=ctx.get("packageName"), tags={str(k): str(v) for k, v in tags.items()}
                )
                if not images:
                    raise NotFoundCloudError(
                        f"packageName: no image of {ctx.get('packageName')} with {tags} in {region}"
                    )
                image_id, image_name = images[0].id, images[0].name
            details.append(
                {
                    "imageId": image_id,
                    "ami": image_id,
                    "imageName": image_name,
                    "amiName": image_name,
                    "region": region,
                    "cloudProvider": provider,
                }
            )
        return TaskResult.succeeded({"amiDetails": details}, {"deploymentDetails": details})
