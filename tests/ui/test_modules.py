"""The UI's pure modules in Chromium (no stack needed): Deck's routes, the stage graph's layout, durations; the
settings of the UI and the links notifications build to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import Page

from core.settings import Settings
from gennaker.localstack import free_port
from ui.server import ServedUi

#: the browser tests need Debian's Chromium, which `make tools` installs (`make test`), not `make test-fast`
in_chromium = pytest.mark.server


@pytest.fixture
def static_ui() -> Iterator[str]:
    with ServedUi(f"http://127.0.0.1:{free_port()}", port=free_port()) as ui:  # no Gate behind it: modules only
        yield ui.url


async def call(page: Page, module: str, expression: str, *args: Any) -> Any:
    return await page.evaluate(
        f"async (args) => {{ const m = await import('./static/js/{module}'); return {expression}; }}", list(args)
    )


@in_chromium
async def test_routes_in_deck_url_shapes(static_ui: str, page: Page) -> None:
    await page.goto(static_ui)
    parsed = await call(
        page,
        "router.js",
        "args.map((h) => { const r = m.parse(h); return [r.page, r.params, Object.fromEntries(r.query)]; })",
        "#/applications",
        "#/applications/shop/executions",
        "#/applications/shop/executions/details/01HX?stage=2&refId=3",
        "#/applications/shop/executions/configure/abc-123",
        "#/applications/shop/clusters",
        "#/applications/my%20app/executions",
        "",
        "#/nowhere",
    )
    assert parsed == [
        ["applications", [], {}],
        ["executions", ["shop"], {}],
        ["executionDetails", ["shop", "01HX"], {"stage": "2", "refId": "3"}],
        ["configure", ["shop", "abc-123"], {}],
        ["clusters", ["shop"], {}],
        ["executions", ["my app"], {}],
        ["applications", [], {}],
        ["notFound", ["/nowhere"], {}],
    ]


@in_chromium
async def test_the_graph_puts_parallel_branches_in_one_column_and_joins_after_them(static_ui: str, page: Page) -> None:
    await page.goto(static_ui)
    diamond = [
        {"refId": "1"},
        {"refId": "2", "requisiteStageRefIds": ["1"]},
        {"refId": "3", "requisiteStageRefIds": ["1"]},
        {"refId": "4", "requisiteStageRefIds": ["2", "3"]},
        {"refId": "5", "requisiteStageRefIds": ["2"]},
    ]
    layout = await call(page, "graph.js", "m.layout(args[0])", diamond)
    assert layout == {
        "column": [0, 1, 1, 2, 2],
        "row": [0, 0, 1, 0, 1],
        "edges": [[0, 1], [0, 2], [1, 3], [2, 3], [1, 4]],
    }
    # no requisiteStageRefIds anywhere: a straight line, as Spinnaker reads it
    line = await call(page, "graph.js", "m.layout(args[0])", [{"refId": "a"}, {"refId": "b"}, {"refId": "c"}])
    assert line["column"] == [0, 1, 2] and line["edges"] == [[0, 1], [1, 2]]


@in_chromium
async def test_durations_read_as_deck_writes_them(static_ui: str, page: Page) -> None:
    await page.goto(static_ui)
    said = await call(page, "dom.js", "args.map((ms) => m.duration(ms))", 999, 42_000, 185_000, 3_720_000, -1)
    assert said == ["0s", "42s", "3m 05s", "1h 02m", ""]


@in_chromium
async def test_the_editors_line_diff_and_stage_graph_edits(static_ui: str, page: Page) -> None:
    await page.goto(static_ui)
    diff = await call(page, "editor/diff.js", "m.lineDiff(args[0], args[1])", "a\nb\nc\nd", "a\nc\nx\nd")
    assert [(d["op"], d["text"]) for d in diff] == [
        ("same", "a"), ("remove", "b"), ("same", "c"), ("add", "x"), ("same", "d"),
    ]  # fmt: skip
    added = await call(page, "editor/diff.js", "m.summary(m.lineDiff('', args[0]))", "x\ny")
    assert added == {"additions": 2, "removals": 0}
    # the history ignores what every save changes
    same = "m.configText({a: 1, lastModified: 1, updateTs: '1', lastModifiedBy: 'x'}) === m.configText({a: 1})"
    assert await call(page, "editor/diff.js", same) is True
    # a validation error's field, most precise first, so the nearest control shows it
    assert await call(page, "pages/configure.js", "m.fieldCandidates('stages[0].requisiteStageRefIds[1]')") == [
        "stages[0].requisiteStageRefIds[1]", "stages[0].requisiteStageRefIds", "stages[0]", "stages",
    ]  # fmt: skip
    diamond = [
        {"refId": "1", "requisiteStageRefIds": []},
        {"refId": "2", "requisiteStageRefIds": ["1"]},
        {"refId": "3", "requisiteStageRefIds": ["1"]},
        {"refId": "4", "requisiteStageRefIds": ["2", "3"]},
    ]
    # Depends On offers no stage downstream of the one edited (a cycle); removing a stage links around it
    assert sorted(await call(page, "editor/stages.js", "[...m.downstream(args[0], '2')]", diamond)) == ["2", "4"]
    after = await call(page, "editor/stages.js", "(m.removeStage(args[0], 1), args[0])", diamond)
    assert [(s["refId"], s["requisiteStageRefIds"]) for s in after] == [("1", []), ("3", ["1"]), ("4", ["3", "1"])]
    assert await call(page, "editor/stages.js", "m.nextRefId(args[0])", diamond) == "5"
    # an old straight pipeline (no refIds) gets Deck's refIds, each stage after the one before
    straight = await call(page, "pages/configure.js", "m.withRefIds({stages: [{type: 'wait'}, {type: 'wait'}]}).stages")
    assert straight == [
        {"type": "wait", "refId": "1", "requisiteStageRefIds": []},
        {"type": "wait", "refId": "2", "requisiteStageRefIds": ["1"]},
    ]


def test_ui_settings_and_the_links_notifications_build() -> None:
    default = Settings()
    assert (default.ui.port, default.ui.enabled, default.ui.link_base) == (9000, True, "http://localhost:9000")
    assert default.notifications.base_url == "http://localhost:9000"  # Echo's links open the UI
    public = Settings.model_validate({"ui": {"base_url": "https://deck.example.com/"}})
    assert public.notifications.base_url == "https://deck.example.com"
    own = Settings.model_validate(
        {"ui": {"base_url": "https://deck.example.com"}, "notifications": {"base_url": "https://old-deck"}}
    )
    assert own.notifications.base_url == "https://old-deck"  # an explicit notifications.base_url still wins
    assert Settings.model_validate({"ui": {"port": 9100}}).notifications.base_url == "http://localhost:9100"
    with pytest.raises(ValueError, match="port"):
        Settings.model_validate({"ui": {"port": 0}})


def test_the_proxy_says_when_gate_does_not_answer(static_ui: str) -> None:
    import httpx

    answer = httpx.get(f"{static_ui}/gate/health")
    assert answer.status_code == 502 and answer.json()["message"].startswith("Gate is not answering")
    config = httpx.get(f"{static_ui}/config.json").json()
    assert config == {
        "gate": "gate",
        "temporalWebUrl": "http://127.0.0.1:8233",
        "namespace": "default",
        "auth": {"enabled": False, "oidc": []},
        "session": False,
    }
    assert httpx.get(f"{static_ui}/static/js/app.js").headers["content-type"].startswith("text/javascript")
