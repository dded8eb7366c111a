"""Pipeline templates (MPTv2) kept in Gennaker's store, with Front50's rules: each version under its own id
(``id``, ``id:tag``, ``id@sha256:<digest>``), ``id:latest`` written by untagged and non-latest saves, the digest
version written once. Also the store-backed loader the renderer uses, the dependents of a template, and the hooks
where pipelines start and triggers read them.

The rows are ``core.store``'s (``store.templates``); each method here is one of its transactions.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from core.store import ConflictError, NotFoundError, Store, ValidationError

from . import (
    TAGS,
    Reference,
    TemplateError,
    digest,
    is_templated,
    render,
    trigger_view,
    validate_config,
    validate_template,
)
from .documents import PREFIX, in_scopes

Doc = dict[str, Any]


def now_ms() -> int:
    return int(time.time() * 1000)


def check_tag(tag: str | None) -> None:
    if tag and tag not in TAGS:
        raise ValidationError(
            f"The provided tag {tag} is not supported. Pipeline template tag must be one of [{', '.join(TAGS)}]",
            field="tag",
        )


def key_of(template_id: str, tag: str | None = None, digest_: str | None = None) -> str:
    """Front50's ``formatId``: both tag and digest at once is refused."""
    if tag and digest_:
        raise ValidationError(
            "Cannot query pipeline by 'tag' and 'digest' simultaneously. Specify one of 'tag' or 'digest'.",
            field="digest",
        )
    if digest_:
        return f"{template_id}@sha256:{digest_}"
    if tag:
        return f"{template_id}:{tag}"
    return template_id


def references(config: Doc, key: str) -> bool:
    """Front50's dependency test: a templated config whose reference starts with ``spinnaker://<key>``; here the
    next character must end the id (``:``, ``@`` or nothing), so ``app`` does not claim ``app2``'s users."""
    if not is_templated(config):
        return False
    template = config.get("template")
    ref = template.get("reference") if isinstance(template, dict) else None
    if not isinstance(ref, str) or not ref.startswith(PREFIX + key):
        return False
    rest = ref[len(PREFIX + key) :]
    return rest == "" or rest[0] in ":@"


class TemplateStore:
    """Templates in ``store``'s database (a ``core.store.Store``)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def save(self, template: Any, user: str, *, tag: str | None = None, update_id: str | None = None) -> Doc:
        """Front50's create (``update_id`` None: a duplicate id is refused) or update; returns what was stored
        under the tag's id, with its ``digest``."""
        try:
            doc = validate_template(copy.deepcopy(template))
        except TemplateError as err:
            raise ValidationError(err.message, field=err.field) from None
        if update_id is not None and update_id != doc["id"]:
            raise ValidationError(f"the body's id {doc['id']!r} does not match the path's {update_id!r}", field="id")
        tag = tag or (doc.get("tag") if isinstance(doc.get("tag"), str) else None) or None
        check_tag(tag)
        doc.pop("digest", None)
        doc["tag"] = tag
        if not tag:
            doc.pop("tag")
        doc.update(lastModified=now_ms(), lastModifiedBy=user)
        key = key_of(doc["id"], tag)
        stored = copy.deepcopy(doc)
        also: dict[str, Doc] = {}
        if not tag or tag != "latest":  # saveLatest: the object now says tag latest, also for the digest
            doc["tag"] = "latest"
            also[f"{doc['id']}:latest"] = copy.deepcopy(doc)
        dig = digest(doc)
        once = {f"{doc['id']}@sha256:{dig}": {**doc, "digest": dig}}
        self._store.templates.save(key, stored, create=update_id is None, also=also, once=once)
        stored["digest"] = dig
        return stored

    def get(self, template_id: str, tag: str | None = None, digest_: str | None = None) -> Doc:
        """A version as Front50 answers it: ``digest`` and ``tag`` removed."""
        key = key_of(template_id, tag, digest_)
        found = self._store.templates.get(key)
        if found is None:
            raise NotFoundError(f"Object not found (id: {key})")
        doc: Doc = found
        doc.pop("digest", None)
        doc.pop("tag", None)
        return doc

    def load(self, ref: Reference) -> Doc:
        """The renderer's loader: the version a ``spinnaker://`` reference names."""
        try:
            return self.get(ref.id, ref.tag, ref.digest)
        except NotFoundError:
            raise TemplateError(
                f"template.reference: no pipeline template spinnaker://{ref.key}", "template.reference"
            ) from None
        except ValidationError as err:
            raise TemplateError(str(err), "template.reference") from None

    def list_all(self, scopes: list[str] | None = None) -> list[Doc]:
        """Every stored version (Front50 lists them all), those of the given scopes when any are given."""
        wanted = [x.strip() for x in scopes or [] if x and x.strip()]
        docs = self._store.templates.all()
        return [doc for doc in docs if not wanted or in_scopes(doc, wanted)]

    def versions(self, scopes: list[str] | None = None) -> dict[str, list[Doc]]:
        """Front50's ``versions``: v2 templates grouped by undecorated id."""
        out: dict[str, list[Doc]] = {}
        for doc in self.list_all(scopes):
            if doc.get("schema") == "v2":
                out.setdefault(str(doc["id"]), []).append(doc)
        return out

    def dependents(self, key: str) -> list[Doc]:
        """The templated pipeline configs whose reference names ``key`` (an id, ``id:tag`` or ``id@sha256:d``)."""
        return [p for p in self._store.pipelines.all() if references(p, key)]

    def dependent_errors(self, template_id: str) -> list[Doc]:
        """``[{application, id, name, message, field}]`` of the dependents that do not render now."""
        out = []
        for pipeline in self.dependents(template_id):
            try:
                self.render(pipeline)
            except TemplateError as err:
                brief = {k: pipeline.get(k) for k in ("application", "id", "name")}
                out.append({**brief, "message": err.message, "field": err.field})
        return out

    def delete(self, template_id: str, tag: str | None = None, digest_: str | None = None) -> None:
        """Front50's delete of one stored version, refused while pipelines depend on it."""
        key = key_of(template_id, tag, digest_)
        users = self.dependents(key)
        if users:
            raise ConflictError(
                "The following pipeline configs depend on this template: " + ", ".join(str(p.get("id")) for p in users)
            )
        if not self._store.templates.delete(key):
            raise NotFoundError(f"Object not found (id: {key})")

    # ---- rendering with stored templates ------------------------------------------------------------------

    def render(self, config: Doc, *, trigger: Doc | None = None, plan: bool = False) -> Doc:
        """``config`` rendered with the stored template it references (unchanged when not templated)."""
        return render(config, self.load, trigger=trigger, plan=plan)

    def trigger_views(self, pipelines: list[Doc]) -> list[Doc]:
        """What trigger matching sees for each pipeline: templated ones rendered (or, failing that, kept with
        their own and the template's triggers and the error, so a match is refused loudly, never dropped)."""
        if not any(is_templated(p) for p in pipelines):
            return pipelines
        loaded: dict[str, Doc | TemplateError] = {}

        def load(ref: Reference) -> Doc:  # each template read once per listing, however many pipelines use it
            if ref.key not in loaded:
                try:
                    loaded[ref.key] = self.load(ref)
                except TemplateError as err:
                    loaded[ref.key] = err
            found = loaded[ref.key]
            if isinstance(found, TemplateError):
                raise found
            return found

        return [trigger_view(p, load)[0] for p in pipelines]


def rendered_for_start(store: Store, config: Doc, trigger: Doc | None = None) -> Doc:
    """The hook where executions start: a templated config becomes the pipeline Orca would run. A config
    that cannot render raises :class:`ValidationError` (a 400 naming the field; triggers report it)."""
    if not is_templated(config):
        return config
    try:
        return TemplateStore(store).render(config, trigger=trigger)
    except TemplateError as err:
        raise ValidationError(f"pipeline '{config.get('name')}' cannot be rendered: {err.message}", err.field) from None


def trigger_views(store: Store, pipelines: list[Doc]) -> list[Doc]:
    """The hook where triggers read pipelines (see :meth:`TemplateStore.trigger_views`)."""
    return TemplateStore(store).trigger_views(pipelines)


def trigger_view_of(store: Store, pipeline: Doc | None) -> Doc | None:
    if pipeline is None or not is_templated(pipeline):
        return pipeline
    return TemplateStore(store).trigger_views([pipeline])[0]


def check_templated(config: Doc) -> bool:
    """On save: True for a templated config, after the checks that need no template (400 naming the field)."""
    if not is_templated(config):
        return False
    try:
        validate_config(config)
    except TemplateError as err:
        raise ValidationError(err.message, err.field) from None
    return True


def template_state(store: Store, saved: Doc) -> None:
    """After a save: a templated config that cannot render now is saved all the same (as Front50 saves it:
    its template may come later), and the answer carries ``templateError`` ``{message, field}`` (not stored)."""
    if not is_templated(saved):
        return
    try:
        TemplateStore(store).render(saved)
    except TemplateError as err:
        saved["templateError"] = {"message": err.message, "field": err.field}


def record_refused(store: Store, execution_id: str, pipeline: Doc, trigger: Doc, reason: str) -> Doc:
    """A triggered execution of a templated pipeline that could not render, as the pipeline's history shows it:
    TERMINAL, no stages, the reason in ``systemNotifications`` (Deck's banner) -- never a silent drop."""
    now = now_ms()
    execution: Doc = {
        "id": execution_id,
        "type": "PIPELINE",
        "application": pipeline.get("application"),
        "name": pipeline.get("name"),
        "pipelineConfigId": pipeline.get("id"),
        "status": "TERMINAL",
        "buildTime": now,
        "startTime": now,
        "endTime": now,
        "canceled": False,
        "limitConcurrent": False,
        "keepWaitingPipelines": False,
        "stages": [],
        "origin": "trigger",
        "trigger": {k: v for k, v in trigger.items() if k != "secret"},
        "notifications": [],
        "initialConfig": {},
        "systemNotifications": [{"createdAt": now, "group": "pipelineTemplate", "message": reason, "closed": False}],
    }
    store.executions.save(execution)
    return execution
