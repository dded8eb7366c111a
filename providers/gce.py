"""The GCE cloud (Clouddriver's Google provider): a server group is a regional managed instance group
made from an instance template of its own (``<group>-<8 digits>``), behind the target pools of its
network load balancers.

Operations follow Clouddriver's: creating makes the template, then the group, then puts it in the backend
services of its HTTP(S) and internal load balancers (``BasicGoogleDeployHandler``); resizing sets the group's
target size; disabling and enabling move it out of and into its backend services and target pools
(``providers/gce_traffic.py``); destroying takes it out of its backend services, deletes the group, then its
template. Every mutating call is safe to repeat (see ``providers/base.py``) and waits, bounded, for its
operation (``providers/gce_ops.py``). Clients come from :class:`~providers.gce_accounts.GceClients`;
nothing here is built at import time.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.cloud import compute_v1

from .base import (
    Capacity,
    CloudError,
    CreateServerGroupRequest,
    Image,
    InvalidRequestError,
    NotFoundCloudError,
    ServerGroup,
    TransientCloudError,
)
from .gce_accounts import GceAccount, GceAccountError, gce_accounts
from .gce_deploy import check_name, instance_group_manager, instance_template, template_name
from .gce_errors import gce_call
from .gce_ops import CALL_TIMEOUT_S, READ_RETRY_DEADLINE, GceOps, re2_literal
from .gce_traffic import backends_disabled, plan_load_balancers, set_backends, set_traffic
from .gce_view import epoch_ms, local_name, metadata_of, now_ms, server_group
from .naming import Moniker

__all__ = ["GceAccount", "GceAccountError", "GceCloud", "gce_accounts", "image_tags"]
log = logging.getLogger(__name__)


def _check_capacity(capacity: Capacity, name: str) -> None:
    if not 0 <= capacity.min <= capacity.desired <= capacity.max:
        raise InvalidRequestError(f"capacity: {name} needs 0 <= min <= desired <= max, got {capacity.to_json()}")


def image_tags(image: compute_v1.Image) -> dict[str, str]:
    """Clouddriver's tags of an image: ``key: value`` pairs of its description, then its labels
    (``GoogleNamedImageLookupController.buildTagsMap``)."""
    tags = {}
    for token in (image.description or "").split(","):
        if ": " in token:
            key, value = token.split(": ", 1)
            tags[key.strip()] = value.strip()
    return tags | dict(image.labels)


class GceCloud:
    """Server groups in the configured GCE accounts (implements ``ServerGroupCloud``)."""

    cloud_provider = "gce"

    def __init__(
        self,
        accounts: list[GceAccount],
        *,
        operation_timeout: timedelta = timedelta(minutes=5),
        read_retry_deadline: timedelta = READ_RETRY_DEADLINE,
    ) -> None:
        self.ops = GceOps(accounts, operation_timeout=operation_timeout, read_retry_deadline=read_retry_deadline)
        self.clients = self.ops.clients

    def __repr__(self) -> str:
        return f"GceCloud(accounts={self.accounts()})"

    def close(self) -> None:
        self.clients.close()

    def accounts(self) -> list[str]:
        return list(self.clients.accounts)

    def regions(self, account: str) -> list[str]:
        return list(self.clients.account(account).regions)

    def load_balancers(self, account: str, region: str) -> list[dict[str, Any]]:
        """Gate's ``/loadBalancers`` for GCE: network and internal load balancers of the region, and the global
        HTTP(S) ones with the account's first region (``providers/gce_infra.py``)."""
        from .gce_infra import load_balancers

        return load_balancers(self, account, region)

    # reads

    def _view(
        self,
        account: str,
        region: str,
        mig: compute_v1.InstanceGroupManager,
        autoscalers: dict[str, compute_v1.Autoscaler] | None = None,
    ) -> ServerGroup:
        template = self.ops.template(account, mig.instance_template)
        managed = self.ops.managed_instances(account, region, mig.name)
        if autoscalers is None:
            autoscalers = self.ops.autoscalers(account, region)
        disabled = backends_disabled(self.ops, account, region, mig, metadata_of(template))
        return server_group(account, region, mig, template, managed, autoscalers.get(mig.name), disabled)

    def server_groups(self, account: str, region: str, cluster: str | None = None) -> list[ServerGroup]:
        request: dict[str, Any] = {"project": self.ops.project(account, region), "region": region}
        if cluster is not None:  # narrowed on Compute's side, then exactly by Frigga's reading
            request["filter"] = f'name eq "{re2_literal(cluster)}-.*"'
        with gce_call(f"listing server groups in {account}/{region}"):
            migs = list(self.ops.client(account, "migs").list(request=request, **self.ops.read))
        if cluster is not None:
            migs = [m for m in migs if Moniker.parse(m.name).cluster == cluster]
        autoscalers = self.ops.autoscalers(account, region) if migs else {}
        groups = [self._view(account, region, m, autoscalers) for m in migs]
        return sorted(groups, key=lambda g: (g.created_ms, g.name))

    def server_group(self, account: str, region: str, name: str) -> ServerGroup | None:
        mig = self.ops.mig(account, region, name)
        return self._view(account, region, mig) if mig is not None else None

    def find_images(
        self, account: str, region: str, *, package: str | None = None, tags: dict[str, str] | None = None
    ) -> list[Image]:
        """READY images of the account's project and its ``image_projects`` whose name starts with
        ``package`` and whose tags (description pairs and labels) match ``tags`` (keys and values
        case-insensitively, as Clouddriver matches them), newest first. Images are global: each is
        reported in the ``region`` asked about."""
        acct = self.clients.check_region(account, region)
        wanted = {k.lower(): v.lower() for k, v in (tags or {}).items()}
        found: list[Image] = []
        for project in [acct.project, *acct.image_projects]:
            request: dict[str, Any] = {"project": project}
            if package:
                request["filter"] = f'name eq "{re2_literal(package)}.*"'
            with gce_call(f"finding images in {project} for {account}"):
                images = list(self.ops.client(account, "images").list(request=request, **self.ops.read))
            for image in images:
                tags_of = image_tags(image)
                lowered = {k.lower(): v.lower() for k, v in tags_of.items()}
                if package and not image.name.startswith(package):
                    continue
                if (image.status and image.status != "READY") or any(lowered.get(k) != v for k, v in wanted.items()):
                    continue
                found.append(Image(image.name, image.name, region, epoch_ms(image.creation_timestamp), tags_of))
        return sorted(found, key=lambda i: (i.created_ms or 0, i.name), reverse=True)

    # writes

    def _image_link(self, account: str, image: str) -> str:
        """The self link of ``image``: a path or URL as given, else the first image of that name in the
        account's project and image projects (``GCEUtil.queryImage``)."""
        if "/" in image:
            return image
        acct = self.clients.account(account)
        projects = [acct.project, *acct.image_projects]
        for project in projects:
            try:
                with gce_call(f"looking up image {image} in {project}"):
                    found = self.ops.client(account, "images").get(project=project, image=image, **self.ops.read)
                return str(found.self_link)
            except NotFoundCloudError:
                continue
        raise NotFoundCloudError(f"imageId: image {image} not found in any of these projects: {projects}")

    def create_server_group(self, request: CreateServerGroupRequest) -> ServerGroup:
        """``BasicGoogleDeployHandler`` for a regional group: the template, then the group. A group of
        that name is returned as it is; a template an interrupted create left is used again."""
        req, ops = request, self.ops
        existing = self.server_group(req.account, req.region, req.name)
        if existing is not None:
            log.info("server group %s exists in %s/%s: not created again", req.name, req.account, req.region)
            if not req.extra.get("disableTraffic") and self._join_backends(req.account, req.region, req.name):
                return self.server_group(req.account, req.region, req.name) or existing
            return existing
        check_name(req.name)
        _check_capacity(req.capacity, req.name)
        acct = self.clients.check_region(req.account, req.region)
        where = f"{req.account}/{req.region}"
        plan = plan_load_balancers(ops, req)
        pools = [] if req.extra.get("disableTraffic") else plan.target_pools
        leftovers = sorted(ops.leftover_templates(req.account, req.name), key=lambda t: t.name)
        if leftovers:
            template_link = str(leftovers[-1].self_link)
            log.info("using instance template %s, left by an earlier create of %s", leftovers[-1].name, req.name)
        else:
            image = self._image_link(req.account, req.image_id)
            template = instance_template(req, template_name(req.name, now_ms()), image, acct.project, plan.metadata)
            ops.act(
                req.account,
                None,
                f"creating instance template {template.name} for {req.name} in {req.account}",
                lambda: ops.client(req.account, "templates").insert_unary(
                    project=acct.project, instance_template_resource=template, timeout=CALL_TIMEOUT_S
                ),
            )
            template_link = f"projects/{acct.project}/global/instanceTemplates/{template.name}"
        zones = req.zones or acct.zones_in(req.region)
        mig = instance_group_manager(req, template_link, pools, zones, acct.project, plan.named_ports)
        action = f"creating server group {req.name} in {where}"
        try:
            ops.act(
                req.account,
                req.region,
                action,
                lambda: ops.client(req.account, "migs").insert_unary(
                    project=acct.project, region=req.region, instance_group_manager_resource=mig, timeout=CALL_TIMEOUT_S
                ),
            )
        except CloudError as err:  # a concurrent create of the same name won: that group is the one asked for
            if not isinstance(err.__cause__, api_exceptions.Conflict) and "RESOURCE_ALREADY_EXISTS" not in err.reasons:
                raise
            log.info("%s: it exists already", action)
        if not req.extra.get("disableTraffic"):  # the group's instance group must exist before a backend names it
            self._join_backends(req.account, req.region, req.name)
        created = self.server_group(req.account, req.region, req.name)
        if created is None:
            raise TransientCloudError(f"server group {req.name} was created in {where} but is not visible yet")
        log.info("created server group %s in %s (template %s)", req.name, where, local_name(template_link))
        return created

    def _join_backends(self, account: str, region: str, name: str) -> int:
        """Put the group in the backend services its template names (``updateBackendServices``)."""
        mig = self.ops.mig(account, region, name)
        if mig is None:
            return 0
        metadata = metadata_of(self.ops.template(account, mig.instance_template))
        return set_backends(self.ops, account, region, name, metadata, leave=False)

    def resize(self, account: str, region: str, name: str, capacity: Capacity) -> None:
        """``ResizeGoogleServerGroupAtomicOperation``: the group's target size becomes ``desired``."""
        _check_capacity(capacity, name)
        mig = self.ops.mig(account, region, name)
        if mig is None:
            raise NotFoundCloudError(f"serverGroupName: {name} not found in {account}/{region}")
        if mig.target_size == capacity.desired:
            return
        self.ops.act(
            account,
            region,
            f"resizing {name} in {account}/{region}",
            lambda: self.ops.client(account, "migs").resize_unary(
                project=self.ops.project(account, region),
                region=region,
                instance_group_manager=name,
                size=capacity.desired,
                timeout=CALL_TIMEOUT_S,
            ),
        )
        log.info("resized %s in %s/%s to %d", name, account, region, capacity.desired)

    def disable(self, account: str, region: str, name: str) -> None:
        set_traffic(self.ops, account, region, name, disable=True)

    def enable(self, account: str, region: str, name: str) -> None:
        set_traffic(self.ops, account, region, name, disable=False)

    def destroy(self, account: str, region: str, name: str) -> None:
        """``DestroyGoogleServerGroupAtomicOperation``: take the group out of its backend services (Compute refuses
        to delete an instance group a backend service names), delete the group, then its template. A missing
        group only has the templates an interrupted create or destroy left behind removed."""
        ops = self.ops
        project = ops.project(account, region)
        mig = ops.mig(account, region, name)
        if mig is not None:
            set_backends(
                ops, account, region, name, metadata_of(ops.template(account, mig.instance_template)), leave=True
            )
            try:
                ops.act(
                    account,
                    region,
                    f"destroying server group {name} in {account}/{region}",
                    lambda: ops.client(account, "migs").delete_unary(
                        project=project, region=region, instance_group_manager=name, timeout=CALL_TIMEOUT_S
                    ),
                )
                log.info("deleted server group %s in %s/%s", name, account, region)
            except NotFoundCloudError:
                log.info("server group %s in %s/%s went away by itself", name, account, region)
        links = [mig.instance_template] if mig is not None and mig.instance_template else []
        links += [t.self_link for t in ops.leftover_templates(account, name)]
        for template in dict.fromkeys(local_name(link) for link in links):
            delete = partial(
                ops.client(account, "templates").delete_unary,
                project=project,
                instance_template=template,
                timeout=CALL_TIMEOUT_S,
            )
            try:
                ops.act(account, None, f"deleting instance template {template} of {name}", delete)
                log.info("deleted instance template %s of %s", template, name)
            except NotFoundCloudError:
                continue
            except InvalidRequestError as err:  # still used by another group: Clouddriver leaves it too
                log.info("kept instance template %s: %s", template, err)
