"""The bakery: Rosco rebuilt, baking machine images with Debian's Packer from bake stages.

* ``images.yml`` / :mod:`bakery.images`: base OSes per cloud (Rosco's image config)
* :mod:`bakery.request`, :mod:`bakery.recipe`: stage fields → packer variables, image name, cache key
* :mod:`bakery.command`, :mod:`bakery.runner`, :mod:`bakery.machine_readable`: running packer
* :mod:`bakery.workflow`: one bake workflow per cache key (identical bakes share it)
* :mod:`bakery.store`, :mod:`bakery.logs`: bakes (the cache) and their logs under the state dir
* :mod:`bakery.api`: what the ``GET /bakery/...`` routes call
* ``templates/``: the Packer templates and the install recipe (Rosco's configDir)

The bake stage's tasks are in ``workflows/stages/bake.py`` and ``activities/bake.py``.
"""
