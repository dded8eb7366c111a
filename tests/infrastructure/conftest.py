"""The clouds the infrastructure tests use: moto's server (AWS) and the Compute stand-in (GCE)."""

from tests.providers.aws_fixtures import aws_account, aws_cloud, aws_world, moto_clients, moto_endpoint  # noqa: F401
from tests.providers.gce_fixtures import gce_account, gce_cloud, gce_standin, gce_world  # noqa: F401
