"""What passes between the bake stage's activities, the bake workflow and the packer activity.

Plain dataclasses (Temporal's default converter), importable in the workflow sandbox. Nothing here
carries credentials: the packer activity looks them up from the account name when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: activity and workflow names (registered under these by ``activities/bake.py`` and ``bakery/workflow.py``)
RUN_PACKER = "run_packer"
BAKE_WORKFLOW = "Bake"


@dataclass(frozen=True)
class BakeRecipe:
    """Everything a packer run needs, decided once by ``createBake`` (see ``bakery/recipe.py``)."""

    key: str
    cloud_provider: str
    region: str
    account: str | None
    base_os: str
    base_label: str
    package_type: str
    image_name: str
    app_version: str | None
    template: str
    var_file: str | None
    communicator: str
    source_image: str
    packages: str
    variables: dict[str, str] = field(default_factory=dict)


@dataclass
class RunBakeInput:
    """The bake workflow's input: the recipe and the bakery's time limits for this bake."""

    recipe: BakeRecipe
    timeout_s: float
    heartbeat_timeout_s: float
    kill_grace_s: float
    #: task queue of the packer activity (a bakery worker with packer installed); None: the workflow's
    activity_queue: str | None = None


@dataclass
class RunBakeResult:
    """How a bake ended (Rosco's ``BakeStatus`` plus the ``Bake`` details)."""

    bake_id: str
    state: str
    result: str | None = None
    ami: str | None = None
    image_name: str | None = None
    images: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    #: canceled because every stage waiting for it was canceled; a stage arriving later bakes again
    abandoned: bool = False
