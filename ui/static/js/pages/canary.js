// Canary (Deck's "Canary" tab from Kayenta behind Gate): the application's canary configs and its canary runs,
// each run's score and verdict, and per metric its classification and the judge's reason; the full report page
// (GET /v2/canaries/canary/{id}/report) one link away. ?run={id} opens that run.

import { gate, gateUrl } from '../gate.js';
import { h, replace, when, duration } from '../dom.js';
import { setQuery } from '../router.js';
import { appHeader, table } from '../infra.js';

/** Kayenta's classifications as Deck colours them. */
const LABELS = { Pass: 'pass', High: 'fail', Low: 'fail', Fail: 'fail', Marginal: 'marginal', Nodata: 'nodata', Error: 'error' };

export function label(text) {
  const name = text || 'Unknown';
  return h('span', { class: `verdict v-${LABELS[name] || 'nodata'}` }, name);
}

function scoreText(value) {
  return typeof value === 'number' && Number.isFinite(value) ? String(Math.round(value * 100) / 100) : '–';
}

/** The run's judgement: ``{score, classification, reason, metrics: [...], groups: [...]}`` (empty until it has one). */
export function judgement(run) {
  const judged = (run.result && run.result.judgeResult) || {};
  const score = judged.score || {};
  return {
    score: score.score,
    classification: score.classification || '',
    reason: score.classificationReason || '',
    metrics: (judged.results || []).map((r) => ({
      name: r.name, classification: r.classification, reason: r.classificationReason || '',
      groups: r.groups || [], tags: r.tags || {},
      control: ((r.controlMetadata || {}).stats || {}).mean, experiment: ((r.experimentMetadata || {}).stats || {}).mean,
    })),
    groups: (judged.groupScores || []).map((g) => ({ name: g.name, score: g.score, classification: g.classification })),
  };
}

function runCard(run, open) {
  const j = judgement(run);
  const config = run.config || {};
  const thresholds = (run.canaryExecutionRequest || {}).thresholds || {};
  const took = run.endTimeMillis && run.startTimeMillis ? duration(run.endTimeMillis - run.startTimeMillis) : '';
  const error = run.exception && ((run.exception.details || {}).error || run.exception.message);
  const card = h('details', { class: 'item canary-run', 'data-run': run.pipelineId, open: open || null },
    h('summary', {}, h('strong', {}, config.name || run.canaryConfigId || 'ad hoc'),
      ' ', h('span', { class: 'muted' }, `${run.status}${run.startTimeMillis ? ` · ${when(run.startTimeMillis)}` : ''}${took ? ` · ${took}` : ''}`),
      ' ', h('span', { class: 'score', 'aria-label': `Score ${scoreText(j.score)}` }, scoreText(j.score)),
      ' ', j.classification ? label(j.classification) : null),
    h('div', {},
      h('p', {}, `Score ${scoreText(j.score)}`, thresholds.pass !== undefined ? ` (pass ≥ ${thresholds.pass}, marginal ${thresholds.marginal})` : '',
        j.reason ? `. ${j.reason}` : '', ' ', h('a', { href: gateUrl(`/v2/canaries/canary/${encodeURIComponent(run.pipelineId)}/report`), target: '_blank', rel: 'noopener' },
          'Full report')),
      error ? h('p', { class: 'error' }, error) : null,
      j.groups.length ? [h('h3', {}, 'Groups'), table(`Group scores of run ${run.pipelineId}`, ['Group', 'Score', 'Classification'],
        j.groups.map((g) => [g.name, scoreText(g.score), g.classification ? label(g.classification) : '']))] : null,
      j.metrics.length ? [h('h3', {}, 'Metrics'), table(`Metrics of run ${run.pipelineId}`, ['Metric', 'Classification', 'Experiment mean', 'Control mean', 'Reason', 'Groups'],
        j.metrics.map((m) => [
          [m.name, Object.keys(m.tags).length ? h('span', { class: 'muted' }, ` ${Object.entries(m.tags).map(([k, v]) => `${k}=${v}`).join(', ')}`) : null],
          label(m.classification), scoreText(m.experiment), scoreText(m.control), m.reason, m.groups.join(', ')]))]
        : h('p', { class: 'muted' }, run.complete ? 'No metric results.' : 'No result yet: the run is still going.')));
  card.addEventListener('toggle', () => {
    const query = new URLSearchParams(location.hash.split('?')[1] || '');
    if (card.open) query.set('run', run.pipelineId); else if (query.get('run') === run.pipelineId) query.delete('run');
    setQuery(query);
  });
  return card;
}

export async function canaryPage({ params, query, main }) {
  const app = params[0];
  const [configs, runs] = await Promise.all([
    gate('/v2/canaryConfig', { query: { application: app } }),
    gate(`/v2/canaries/${encodeURIComponent(app)}/executions`, { query: { limit: 50 } }),
  ]);
  const wanted = query.get('run');
  replace(main, ...appHeader(app, 'Canary', 'canary'),
    h('h2', {}, 'Canary Configs'),
    (configs || []).length ? table('Canary configs', ['Name', 'Id', 'Updated', 'Applications'],
      configs.map((c) => [c.name, c.id, when(c.updatedTimestamp), (c.applications || []).join(', ')]))
      : h('p', { class: 'muted' }, 'No canary configs for this application.'),
    h('h2', {}, 'Canary Reports'),
    (runs || []).length ? h('div', { id: 'canary-runs' }, runs.map((r, i) => runCard(r, wanted ? r.pipelineId === wanted : i === 0 && runs.length === 1)))
      : h('p', { class: 'muted' }, 'No canary runs for this application.'));
}
