"""Fixtures for the provider tests, one block per cloud."""

# --- AWS: moto's server and a world in it (tests/providers/aws_fixtures.py) ---
from tests.providers.aws_fixtures import aws_account, aws_cloud, aws_world, moto_clients, moto_endpoint  # noqa: F401

# --- end AWS ---
