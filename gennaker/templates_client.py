"""The SDK's MPTv2 calls (Gate's ``/v2/pipelineTemplates``), mixed into :class:`gennaker.client.Client` and
:class:`gennaker.client.AsyncClient` (each returns what the client's driver makes of the call)."""

from __future__ import annotations

from typing import Any

BASE = "/v2/pipelineTemplates"


class PipelineTemplatesMixin:
    """``pipeline_template*`` methods, written once for both clients on their ``_do``."""

    def _do(self, call: Any) -> Any:  # pragma: no cover - provided by the client
        raise NotImplementedError

    @staticmethod
    def _call(method: str, path: str, params: dict[str, Any] | None = None, **body: Any) -> Any:  # pragma: no cover
        raise NotImplementedError  # provided by the client (gennaker.client._call)

    @staticmethod
    def _seg(value: str) -> str:  # pragma: no cover - provided by the client (gennaker.client._seg)
        raise NotImplementedError

    def pipeline_templates(self, scopes: list[str] | None = None) -> Any:
        """Every stored template version (of ``scopes`` when given)."""
        return self._do(self._call("GET", BASE, {"scopes": ",".join(scopes) if scopes else None}))

    def pipeline_template(self, template_id: str, tag: str | None = None, digest: str | None = None) -> Any:
        """One template by id, tag or digest; :class:`NotFound` when there is none."""
        return self._do(self._call("GET", f"{BASE}/{self._seg(template_id)}", {"tag": tag, "digest": digest}))

    def create_pipeline_template(self, template: dict[str, Any], tag: str | None = None) -> Any:
        """Create a template (:class:`Conflict` when the id is taken); returns it with its ``digest``."""
        return self._do(self._call("POST", f"{BASE}/create", {"tag": tag}, json=template))

    def update_pipeline_template(self, template: dict[str, Any], tag: str | None = None) -> Any:
        """Update the template named by ``template['id']``; returns it with its new ``digest``."""
        path = f"{BASE}/update/{self._seg(str(template.get('id') or ''))}"
        return self._do(self._call("POST", path, {"tag": tag}, json=template))

    def delete_pipeline_template(self, template_id: str, tag: str | None = None, digest: str | None = None) -> Any:
        """Delete one version; :class:`Conflict` while pipelines depend on it."""
        return self._do(self._call("DELETE", f"{BASE}/{self._seg(template_id)}", {"tag": tag, "digest": digest}))

    def pipeline_template_dependents(self, template_id: str) -> Any:
        """``[{application, id, name}]`` of the pipelines that use the template."""
        return self._do(self._call("GET", f"{BASE}/{self._seg(template_id)}/dependents"))

    def plan_pipeline_template(self, config: dict[str, Any]) -> Any:
        """The pipeline a templated config renders to (:class:`BadRequest` naming the field when it cannot)."""
        return self._do(self._call("POST", f"{BASE}/plan", json=config))
