"""Armory's Terraformer for Gennaker: the ``terraform`` stage's runs (docs/stages/terraform.md).

``context`` checks a stage's context (pure, used by the workflow too), ``settings`` the operator's knobs,
``process`` one command with streamed, capped and redacted output, ``workdir`` the fresh checkout, ``plans``
what is read from a plan, ``runner`` one run of an action from init to outputs.
"""
