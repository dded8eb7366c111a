"""One commit status per push, in GitHub's REST shape: ``POST {api}/repos/{owner}/{repo}/statuses/{sha}``.

The API address and token are the operator's settings (``status_api``, ``status_token``), not user input, so the
call is made directly, like the Jenkins masters the operator configures. Texts are Dinghy's; descriptions are cut
to GitHub's 140 characters.
"""

from __future__ import annotations

from typing import Any

import httpx

from core.settings.dinghy import DinghySourceSettings

TIMEOUT_S = 15.0
MAX_DESCRIPTION = 140


def post_status(src: DinghySourceSettings, commit: str, state: str, description: str, target_url: str = "") -> int:
    """Set the commit's ``status_context`` status; returns the HTTP status (0 when statuses are not configured)."""
    if not src.status_api or src.provider != "github" or not src.project or not src.slug:
        return 0
    url = f"{src.status_api.rstrip('/')}/repos/{src.project}/{src.slug}/statuses/{commit}"
    body: dict[str, Any] = {"state": state, "description": description[:MAX_DESCRIPTION], "context": src.status_context}
    if target_url:
        body["target_url"] = target_url
    headers = {"Accept": "application/vnd.github+json", "User-Agent": "gennaker-dinghy"}
    if src.status_token is not None:
        headers["Authorization"] = f"token {src.status_token.get_secret_value()}"
    response = httpx.post(url, json=body, headers=headers, timeout=TIMEOUT_S)
    if response.status_code >= 500 or response.status_code == 429:
        response.raise_for_status()  # retried by the activity's policy
    return response.status_code
