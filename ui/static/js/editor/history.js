// Deck's "Pipeline Revision History": the saved revisions (GET /pipelineConfigs/{id}/history), a line diff of the
// chosen one against the previous version or the current config, and "Restore this version".

import { gate } from '../gate.js';
import { h, replace, when, actionButton } from '../dom.js';
import { lineDiff, summary, configText } from './diff.js';

const COMPARE = ['previous version', 'current'];

/** The revisions to choose from, newest first: the unsaved config (when there are changes), then the saved ones. */
export function revisions(current, dirty, history) {
  const saved = history.map((json, i) => ({
    label: `${when(json.lastModified || Number(json.updateTs))}${json.lastModifiedBy ? ` by ${json.lastModifiedBy}` : ''}`
      + (i === 0 ? (dirty ? ' (last saved)' : ' (current)') : ''),
    json,
  }));
  return dirty ? [{ label: 'Current config (not saved)', json: current }, ...saved] : saved;
}

/** The history panel; ``onRestore(config)`` puts a revision into the editor (unsaved). */
export async function historyPanel({ id, current, dirty, reason, onRestore }) {
  const history = await gate(`/pipelineConfigs/${encodeURIComponent(id)}/history`, { query: { limit: 50 } });
  const entries = revisions(current, dirty, history);
  if (!entries.length) return h('p', { class: 'muted' }, 'Sorry, we couldn\'t find any history for this pipeline.');
  const version = h('select', { 'aria-label': 'Revision' }, entries.map((e, i) => h('option', { value: String(i) }, e.label)));
  const compare = h('select', { 'aria-label': 'Compare to' }, COMPARE.map((c) => h('option', { value: c }, c)));
  const counts = h('span', { class: 'diff-summary', role: 'status' });
  const restoreSlot = h('span');
  const view = h('div', { class: 'diff', tabindex: '0', role: 'region', 'aria-label': 'Differences' });

  function update() {
    const v = Number(version.value);
    const right = configText(entries[v].json);
    const left = compare.value === 'current' ? configText(entries[0].json)
      : v < entries.length - 1 ? configText(entries[v + 1].json) : right;
    const diff = lineDiff(left, right);
    const { additions, removals } = summary(diff);
    counts.textContent = `${additions} added, ${removals} removed`;
    replace(view, diff.map((d) => h('div', { class: `line ${d.op}` },
      h('span', { class: 'mark', 'aria-hidden': 'true' }, d.op === 'add' ? '+' : d.op === 'remove' ? '-' : ' '),
      d.op === 'same' ? null : h('span', { class: 'sr-only' }, d.op === 'add' ? 'added: ' : 'removed: '),
      d.text)));
    replace(restoreSlot, v > 0 ? actionButton('Restore this version', () => onRestore(entries[v].json), reason, 'primary') : null);
  }
  version.addEventListener('change', update);
  compare.addEventListener('change', update);
  update();
  return h('div', {},
    h('div', { class: 'toolbar' }, h('label', {}, 'Revision ', version), counts, restoreSlot, h('label', {}, 'compare to ', compare)),
    view);
}
