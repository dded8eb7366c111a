// The stage graph as a DAG: each top-level stage in the column of its longest path from a root (refId and
// requisiteStageRefIds; no refIds = a straight line), parallel branches stacked in a column, joins drawn as edges
// into one node. Positions are computed, not measured, so 1,000 stages lay out without reading the DOM.

import { h } from './dom.js';

const W = 150, H = 34, GAP_X = 40, GAP_Y = 12, PAD = 10;

/** Column and row of each stage (by index in ``stages``), and the edges between indices. */
export function layout(stages) {
  const byRef = new Map(stages.map((s, i) => [String(s.refId ?? i), i]));
  const straight = stages.every((s) => !(s.requisiteStageRefIds || []).length);
  const parents = stages.map((s, i) => straight ? (i ? [i - 1] : [])
    : (s.requisiteStageRefIds || []).map((r) => byRef.get(String(r))).filter((p) => p !== undefined));
  const column = new Array(stages.length).fill(-1);
  const depth = (i, seen = new Set()) => {
    if (column[i] >= 0) return column[i];
    if (seen.has(i)) return 0; // a cycle: the API refuses these, draw it flat rather than loop
    seen.add(i);
    column[i] = parents[i].length ? 1 + Math.max(...parents[i].map((p) => depth(p, seen))) : 0;
    return column[i];
  };
  stages.forEach((_, i) => depth(i));
  const rowsInColumn = new Map();
  const row = column.map((c) => { const r = rowsInColumn.get(c) || 0; rowsInColumn.set(c, r + 1); return r; });
  const edges = parents.flatMap((ps, i) => ps.map((p) => [p, i]));
  return { column, row, edges };
}

const describeStage = (s) => `Stage ${s.name || s.type}: ${s.status || 'NOT_STARTED'}`;

/** The graph's element: a button per stage (``onSelect(index)``), SVG edges behind them; ``describe(stage)`` is a
 * node's accessible name (the pipeline editor's nodes have no status). */
export function drawGraph(stages, selected, onSelect, label, describe = describeStage) {
  const { column, row, edges } = layout(stages);
  const x = (i) => PAD + column[i] * (W + GAP_X);
  const y = (i) => PAD + row[i] * (H + GAP_Y);
  const width = PAD * 2 + (Math.max(0, ...column) + 1) * (W + GAP_X);
  const height = PAD * 2 + (Math.max(0, ...row) + 1) * (H + GAP_Y);
  const paths = edges.map(([a, b]) => {
    const x1 = x(a) + W, y1 = y(a) + H / 2, x2 = x(b), y2 = y(b) + H / 2, mid = (x1 + x2) / 2;
    return `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`;
  });
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', width); svg.setAttribute('height', height); svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', paths.join(' '));
  svg.append(path);
  const nodes = stages.map((s, i) => h('button', {
    type: 'button', class: `node s-${s.status || 'NOT_STARTED'}`, style: `left:${x(i)}px;top:${y(i)}px`,
    'aria-current': i === selected ? 'true' : 'false', 'aria-label': describe(s),
    'data-ref-id': s.refId, onclick: () => onSelect(i),
  }, s.name || s.type));
  return h('div', { class: 'graph', role: 'group', 'aria-label': label, style: `width:${width}px;height:${height}px` }, svg, nodes);
}
