"""A canary run as one HTML page people can read: the verdict and its reason, the window, and per metric the
control and the experiment side by side, as a time series and as a distribution (inline SVG drawn here, no
script). Pure: ``render(run, pairs)`` takes the stored run and its metric-set pairs."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from html import escape
from typing import Any

Json = dict[str, Any]
CONTROL, EXPERIMENT = "#1f77b4", "#d62728"
_W, _H, _PAD = 460, 180, 34
_COLOURS = {"Pass": "#2ca02c", "High": "#d62728", "Low": "#d62728", "Nodata": "#7f7f7f", "Error": "#9467bd",
            "Fail": "#d62728", "Marginal": "#ff7f0e"}  # fmt: skip


def _finite(values: Any) -> list[float]:
    return [float(v) for v in values or [] if v is not None and not (isinstance(v, float) and math.isnan(v))]


def _fmt(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "–"
    if math.isnan(value) or math.isinf(value):
        return "–"
    return f"{value:.4g}"


def _scale(lo: float, hi: float, out_lo: float, out_hi: float) -> Any:
    span = (hi - lo) or 1.0
    return lambda v: out_lo + (v - lo) / span * (out_hi - out_lo)


def _axes(lo: float, hi: float, title: str) -> str:
    return (
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - 8}" y2="{_H - _PAD}" stroke="#444"/>'
        f'<line x1="{_PAD}" y1="10" x2="{_PAD}" y2="{_H - _PAD}" stroke="#444"/>'
        f'<text x="2" y="16" font-size="10">{escape(_fmt(hi))}</text>'
        f'<text x="2" y="{_H - _PAD}" font-size="10">{escape(_fmt(lo))}</text>'
        f'<text x="{_W / 2}" y="{_H - 6}" font-size="11" text-anchor="middle">{escape(title)}</text>'
    )


def series_svg(control: list[Any], experiment: list[Any], label: str) -> str:
    """Both sides over time (index = step), NaN points left out of the lines."""
    points = _finite(control) + _finite(experiment)
    if not points:
        return f'<svg role="img" aria-label="{escape(label)}: no data" width="{_W}" height="{_H}"></svg>'
    lo, hi = min(points), max(points)
    n = max(len(control), len(experiment), 2)
    x = _scale(0, n - 1, _PAD, _W - 8)
    y = _scale(lo, hi, _H - _PAD, 10)
    lines = []
    for values, colour, name in ((control, CONTROL, "control"), (experiment, EXPERIMENT, "experiment")):
        coords = [f"{x(i):.1f},{y(float(v)):.1f}" for i, v in enumerate(values or [])
                  if v is not None and not (isinstance(v, float) and math.isnan(v))]  # fmt: skip
        lines.append(f'<polyline class="{name}" fill="none" stroke="{colour}" stroke-width="1.5" '
                     f'points="{" ".join(coords)}"/>')  # fmt: skip
    return (f'<svg role="img" aria-label="{escape(label)}" width="{_W}" height="{_H}" '
            f'xmlns="http://www.w3.org/2000/svg">{_axes(lo, hi, "time")}{"".join(lines)}</svg>')  # fmt: skip


def distribution_svg(control: list[Any], experiment: list[Any], label: str, bins: int = 20) -> str:
    """Histograms of both sides on shared bins (bars side by side per bin)."""
    c, e = _finite(control), _finite(experiment)
    if not c and not e:
        return f'<svg role="img" aria-label="{escape(label)}: no data" width="{_W}" height="{_H}"></svg>'
    lo, hi = min(c + e), max(c + e)
    width = (hi - lo) / bins or 1.0

    def counts(values: list[float]) -> list[int]:
        out = [0] * bins
        for v in values:
            out[min(int((v - lo) / width), bins - 1)] += 1
        return out

    cc, ec = counts(c), counts(e)
    top = max(cc + ec) or 1
    bar = (_W - 8 - _PAD) / bins
    y = _scale(0, top, _H - _PAD, 10)
    rects = []
    for i in range(bins):
        for offset, count, colour, name in ((0, cc[i], CONTROL, "control"), (bar / 2, ec[i], EXPERIMENT, "experiment")):
            if count:
                left, h = _PAD + i * bar + offset, _H - _PAD - y(count)
                rects.append(f'<rect class="{name}" x="{left:.1f}" y="{y(count):.1f}" '
                             f'width="{bar / 2 - 0.5:.1f}" height="{h:.1f}" fill="{colour}"/>')  # fmt: skip
    return (f'<svg role="img" aria-label="{escape(label)}" width="{_W}" height="{_H}" '
            f'xmlns="http://www.w3.org/2000/svg">{_axes(lo, hi, "value")}{"".join(rects)}</svg>')  # fmt: skip


def reason(result: Json) -> str:
    """The judge's reason (Kayenta's is terse, and a Pass has none) followed by what the numbers say."""
    given = str(result.get("classificationReason") or "")
    said = _in_words(result)
    return f"{given}. {said}" if given and said else (given or said)


def _in_words(result: Json) -> str:
    c = (result.get("controlMetadata") or {}).get("stats") or {}
    e = (result.get("experimentMetadata") or {}).get("stats") or {}
    label = result.get("classification")
    ratio = (result.get("resultMetadata") or {}).get("ratio")
    means = f"experiment mean {_fmt(e.get('mean'))} vs control mean {_fmt(c.get('mean'))}"
    if label == "Pass":
        return f"No significant difference between the sides ({means}; ratio {_fmt(ratio)})."
    if label in ("High", "Low"):
        return f"The experiment is significantly {label.lower()}er than the control ({means}; ratio {_fmt(ratio)})."
    return f"{label}: {means}." if label not in ("Nodata", "Error") else ""


def _when(value: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return escape(str(value))
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _pair_for(result: Json, pairs: list[Json]) -> Json:
    by_id = next((p for p in pairs if result.get("id") and p.get("id") == result.get("id")), None)
    if by_id is not None:
        return by_id
    same = [
        p for p in pairs if p.get("name") == result.get("name") and (p.get("tags") or {}) == (result.get("tags") or {})
    ]
    return same[0] if same else {}


def render(run: Json, pairs: list[Json]) -> str:
    """The page. A run without a result (running, failed) says so and still shows its window."""
    config = run.get("config") or {}
    request = run.get("canaryExecutionRequest") or {}
    judged = run.get("result") or {}
    score = judged.get("score") or {}
    status = str(run.get("status") or "RUNNING")
    verdict = score.get("classification") or status.title()
    colour = _COLOURS.get(str(verdict), "#333")
    scopes = []
    for name, pair in (request.get("scopes") or {}).items():
        cs, es = pair.get("controlScope") or {}, pair.get("experimentScope") or {}
        cells = [escape(str(name)), escape(str(cs.get("scope"))), escape(str(es.get("scope"))),
                 f"{_when(es.get('start'))} → {_when(es.get('end'))}",
                 f"{_when(cs.get('start'))} → {_when(cs.get('end'))}",
                 f"{escape(str(es.get('step')))} s"]  # fmt: skip
        scopes.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    sections = []
    for result in judged.get("results") or []:
        pair = _pair_for(result, pairs)
        values = pair.get("values") or {}
        control, experiment = values.get("control") or [], values.get("experiment") or []
        name = str(result.get("name"))
        tags = ", ".join(f"{k}={v}" for k, v in sorted((result.get("tags") or {}).items()))
        label = str(result.get("classification"))
        cstats = (result.get("controlMetadata") or {}).get("stats") or {}
        estats = (result.get("experimentMetadata") or {}).get("stats") or {}
        rows = "".join(
            f"<tr><th>{k}</th><td>{_fmt(cstats.get(k))}</td><td>{_fmt(estats.get(k))}</td></tr>"
            for k in ("count", "mean", "min", "max", "std")
        )
        sections.append(f"""
<section class="metric" data-metric="{escape(name)}">
  <h2>{escape(name)}{f" <small>{escape(tags)}</small>" if tags else ""}
    <span class="label" style="background:{_COLOURS.get(label, "#333")}">{escape(label)}</span></h2>
  <p class="reason">{escape(reason(result))}</p>
  <div class="charts">
    <figure><figcaption>Time series</figcaption>{series_svg(control, experiment, name + ": time series")}</figure>
    <figure><figcaption>Distribution</figcaption>{distribution_svg(control, experiment, name + ": distribution")}
    </figure>
    <table class="stats"><tr><th></th><th>control</th><th>experiment</th></tr>{rows}</table>
  </div>
</section>""")
    groups = "".join(
        f"<li>{escape(str(g.get('name')))}: {_fmt(g.get('score'))}</li>" for g in judged.get("groupScores") or []
    )
    warnings = "".join(f"<li>{escape(str(w.get('message') if isinstance(w, dict) else w))}</li>"
                       for w in run.get("warnings") or [])  # fmt: skip
    exception = (
        ((run.get("exception") or {}).get("details") or {}).get("error")
        if isinstance(run.get("exception"), dict)
        else None
    )
    thresholds = request.get("thresholds") or {}
    title = escape(str(config.get("name") or run.get("canaryConfigId") or "ad hoc"))
    window_head = "".join(
        f"<th>{h}</th>" for h in ("scope", "control", "experiment", "experiment window", "control window", "step")
    )
    parts = [
        "<!doctype html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>Canary {escape(str(run.get("id")))}: '
        f"{escape(str(verdict))}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Canary {title} for {escape(str(run.get('application')))} "
        f'<span class="label verdict" style="background:{colour}">{escape(str(verdict))}</span></h1>',
        f'<p class="summary">Score <strong class="score">{_fmt(score.get("score"))}</strong> '
        f"(pass ≥ {_fmt(thresholds.get('pass'))}, marginal {_fmt(thresholds.get('marginal'))}). "
        f"{escape(str(score.get('classificationReason') or ''))} "
        f"Run {escape(str(run.get('id')))}, status {escape(status.lower())}.</p>",
        f'<p class="exception">{escape(str(exception))}</p>' if exception else "",
        f'<table class="window"><tr>{window_head}</tr>{"".join(scopes)}</table>',
        f'<p class="legend"><span style="color:{CONTROL}">■ control (baseline)</span>'
        f'<span style="color:{EXPERIMENT}">■ experiment (canary)</span></p>',
        f'<ul class="groups">{groups}</ul>' if groups else "",
        f'<ul class="warnings">{warnings}</ul>' if warnings else "",
        "".join(sections) or '<p class="empty">No metric results yet.</p>',
        "</body></html>",
        "",
    ]
    return "\n".join(parts)


_STYLE = """
body{font-family:sans-serif;margin:1.5em;color:#222}
.label{color:#fff;padding:.1em .5em;border-radius:.3em;font-size:.8em}
.charts{display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start} figure{margin:0}
table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}
.legend span{margin-right:1em} .metric{border-top:1px solid #ddd;margin-top:1em}
"""
