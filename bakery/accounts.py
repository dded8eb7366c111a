"""The accounts a bake runs in: the settings' ``accounts`` entries (the same ones deploys use).

A bake names one with ``account`` (Rosco's ``account_name``); without it the bakery's
``default_account`` (Rosco's ``bakeAccount``), else the cloud's first account. Credentials reach
packer only through its environment (never ``-var``, which ``ps`` shows); the account's
``endpointUrl`` becomes the template's ``aws_endpoint`` (moto, LocalStack, a VPC endpoint).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from providers.aws_accounts import AwsAccount, AwsClients, aws_accounts
from providers.base import CloudError
from providers.gce_accounts import GceAccount, gce_accounts

from .errors import BakeRequestError


class BakeAccounts:
    """AWS and GCE accounts by name, AMI lookups by name, and packer's credential environment."""

    def __init__(self, entries: list[dict[str, Any]], default_account: str | None = None) -> None:
        self._aws = {a.name: a for a in aws_accounts(entries)}
        self._gce = {a.name: a for a in gce_accounts(entries)}
        self.default_account = default_account
        self._clients = AwsClients(list(self._aws.values()))

    def close(self) -> None:
        self._clients.close()

    def _pick(self, known: dict[str, Any], name: str | None, cloud: str) -> Any:
        wanted = name or (self.default_account if self.default_account in known else None)
        if wanted is None:
            return next(iter(known.values()), None)
        if wanted not in known:
            raise BakeRequestError(
                "account", f"no {cloud} account named '{wanted}' (known: {', '.join(known) or 'none'})"
            )
        return known[wanted]

    def aws(self, name: str | None) -> AwsAccount | None:
        """The AWS account, or None when none is configured (packer then uses the host's credentials)."""
        return self._pick(self._aws, name, "AWS")  # type: ignore[no-any-return]

    def gce(self, name: str | None) -> GceAccount:
        account = self._pick(self._gce, name, "GCE")
        if account is None:
            raise BakeRequestError("account", "GCE bakes need a GCE account (its project) in the settings' accounts")
        return account  # type: ignore[no-any-return]

    def find_ami(self, account: AwsAccount | None, region: str, name: str, owners: list[str], vm_type: str) -> str:
        """The newest available AMI named ``name`` (a glob) in ``region`` (Rosco's ``lookupAmiByName``)."""
        if account is None:
            import boto3

            client = boto3.client("ec2", region_name=region)
        else:
            try:
                client = self._clients.client(account.name, region, "ec2")
            except CloudError as err:
                raise BakeRequestError("regions", str(err)) from None
        filters = [
            {"Name": "name", "Values": [name]},
            {"Name": "virtualization-type", "Values": [vm_type]},
            {"Name": "state", "Values": ["available"]},
        ]
        try:
            images = client.describe_images(Owners=owners, Filters=filters)["Images"]
        except Exception as err:  # noqa: BLE001 - botocore's errors; the request cannot go on either way
            raise BakeRequestError("baseAmi", f"looking up AMI '{name}' in {region} failed: {err}") from None
        if not images:
            raise BakeRequestError("baseAmi", f"no {vm_type} AMI named '{name}' owned by {owners} in {region}")
        newest = max(images, key=lambda i: (i.get("CreationDate") or "", i.get("Name") or "", i["ImageId"]))
        return str(newest["ImageId"])

    def packer_env(self, provider: str, account_name: str | None, workdir: Path) -> dict[str, str]:
        """Credentials for packer's environment (static keys, an assumed role's session, or a key file)."""
        if provider == "gce":
            gce = self.gce(account_name)
            if gce.credentials_json is not None:
                path = workdir / "gce-credentials.json"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as out:
                    out.write(gce.credentials_json.get_secret_value())
                return {"GOOGLE_APPLICATION_CREDENTIALS": str(path)}
            if gce.credentials_path is not None:
                return {"GOOGLE_APPLICATION_CREDENTIALS": gce.credentials_path.get_secret_value()}
            return {}
        aws = self.aws(account_name)
        if aws is None:
            return {}
        env: dict[str, str] = {}
        if aws.role is not None:
            env.update(self._assumed(aws))
        elif aws.access_key_id is not None and aws.secret_access_key is not None:
            env["AWS_ACCESS_KEY_ID"] = aws.access_key_id.get_secret_value()
            env["AWS_SECRET_ACCESS_KEY"] = aws.secret_access_key.get_secret_value()
        if env:
            env["AWS_EC2_METADATA_DISABLED"] = "true"
        return env

    def _assumed(self, account: AwsAccount) -> dict[str, str]:
        import boto3

        keys = {}
        if account.access_key_id is not None and account.secret_access_key is not None:
            keys = {
                "aws_access_key_id": account.access_key_id.get_secret_value(),
                "aws_secret_access_key": account.secret_access_key.get_secret_value(),
            }
        sts = boto3.client("sts", region_name=account.regions[0], endpoint_url=account.endpoint_url, **keys)
        extra = {"ExternalId": account.external_id.get_secret_value()} if account.external_id else {}
        try:
            creds = sts.assume_role(RoleArn=account.role, RoleSessionName="gennaker-bake", **extra)["Credentials"]
        finally:
            sts.close()
        return {
            "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"],
        }


def endpoint_of(account: AwsAccount | None) -> str:
    return (account.endpoint_url or "") if account is not None else ""
