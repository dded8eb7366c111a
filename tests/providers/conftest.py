"""Fixtures for the provider tests, one block per cloud."""

# --- AWS: moto's server and a world in it (tests/providers/aws_fixtures.py) ---
from tests.providers.aws_fixtures import aws_account, aws_cloud, aws_world, moto_clients, moto_endpoint  # noqa: F401

# --- end AWS ---
# --- GCE: the Compute stand-in and a world in it (tests/providers/gce_fixtures.py) ---
from tests.providers.gce_fixtures import gce_account, gce_cloud, gce_standin, gce_world  # noqa: E402, F401

# --- end GCE ---
