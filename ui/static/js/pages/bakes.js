// Bakes: the application's bakes as its pipelines ran them (Deck shows a bake in its execution; this page gathers
// them): one row per region baked (Orca's "Bake in <region>" stages), with the bakery's status, the image made, and
// the packer log (Gate's GET /bakery/logs/{region}/{statusId}) on demand.

import { gate } from '../gate.js';
import { h, replace, when, duration, elapsed, statusBadge } from '../dom.js';
import { href } from '../router.js';
import { appHeader } from '../infra.js';

const LIMIT = 10;

/** The bakes in executions: a row per regional bake stage (a bake stage without them yet: one row). */
export function bakesOf(executions) {
  const rows = [];
  for (const execution of executions) {
    const stages = execution.stages || [];
    const topLevel = stages.filter((s) => !s.parentStageId && !s.syntheticStageOwner);
    stages.forEach((stage) => {
      if (stage.type !== 'bake') return;
      const ctx = stage.context || {};
      const regional = ctx.regionalBake === true;
      const hasChildren = stages.some((s) => s.parentStageId === stage.id && s.type === 'bake');
      if (!regional && hasChildren) return;
      const status = ctx.status && typeof ctx.status === 'object' ? ctx.status : {};
      // the top-level stage the details page selects (?stage= indexes the top-level stages, as the bars do)
      let top = stage;
      while (top && top.parentStageId) top = stages.find((s) => s.id === top.parentStageId);
      rows.push({
        executionId: execution.id,
        pipeline: execution.name,
        stageIndex: Math.max(0, topLevel.indexOf(top)),
        stage: stage.name || 'Bake',
        stageStatus: stage.status || 'NOT_STARTED',
        region: ctx.region || (ctx.regions || []).join(', '),
        package: ctx.package || '',
        baseOs: ctx.baseOs || '',
        baseLabel: ctx.baseLabel || '',
        cloudProvider: ctx.cloudProviderType || ctx.cloudProvider || '',
        statusId: status.id || status.resourceId || '',
        state: status.state || '',
        result: status.result || '',
        image: ctx.imageName || ctx.amiName || ctx.ami || ctx.imageId || '',
        imageId: ctx.ami || ctx.imageId || '',
        previouslyBaked: Boolean(ctx.previouslyBaked),
        startTime: stage.startTime,
        endTime: stage.endTime,
      });
    });
  }
  return rows.sort((a, b) => (b.startTime || 0) - (a.startTime || 0));
}

/** Gate's log body is packer's output HTML-escaped inside <pre>: its text, never parsed into the page. */
export function logText(body) {
  const doc = new DOMParser().parseFromString(String(body || ''), 'text/html');
  return doc.body.textContent || '';
}

function logButton(bake, slot) {
  if (!bake.statusId) return h('span', { class: 'muted' }, 'no bake yet');
  const label = `View bake log of ${bake.region}`;
  const button = h('button', { type: 'button', 'aria-expanded': 'false', 'aria-label': label }, 'Bake log');
  button.addEventListener('click', async () => {
    const open = button.getAttribute('aria-expanded') !== 'true';
    button.setAttribute('aria-expanded', String(open));
    if (!open) { replace(slot); return; }
    replace(slot, h('p', { class: 'muted' }, 'Reading the log…'));
    try {
      const body = await gate(`/bakery/logs/${encodeURIComponent(bake.region)}/${encodeURIComponent(bake.statusId)}`);
      replace(slot, h('pre', { class: 'json bake-log', tabindex: '0', 'aria-label': `Bake log ${bake.statusId}` }, logText(body)));
    } catch (err) {
      replace(slot, h('p', { class: 'error', role: 'alert' }, err.message));
    }
  });
  return button;
}

export async function bakesPage({ params, main }) {
  const app = params[0];
  // expanded: the bake's status and image are in the stage contexts, which the executions page leaves out
  const executions = await gate(`/applications/${encodeURIComponent(app)}/pipelines`, { query: { limit: LIMIT, expand: true } });
  const bakes = bakesOf(executions || []);
  const rows = bakes.map((b) => {
    const slot = h('div');
    const link = `${href('applications', app, 'executions', 'details', b.executionId)}?stage=${b.stageIndex}`;
    return [
      h('tr', { 'data-status-id': b.statusId },
        h('td', {}, h('a', { href: link, 'aria-label': `${b.stage} in ${b.pipeline} ${b.executionId}` }, b.pipeline), h('br'),
          h('span', { class: 'muted' }, when(b.startTime))),
        h('td', {}, b.region),
        h('td', {}, [b.package, b.baseOs && `on ${b.baseOs}`, b.baseLabel && `(${b.baseLabel})`].filter(Boolean).join(' ')),
        h('td', {}, statusBadge(b.stageStatus), ' ', h('span', { class: 'muted' }, [b.state, b.result].filter(Boolean).join(' / ')),
          b.previouslyBaked ? h('span', { class: 'muted' }, ' · previously baked') : null),
        h('td', {}, b.image, b.imageId && b.imageId !== b.image ? h('span', { class: 'muted' }, ` ${b.imageId}`) : null),
        h('td', {}, duration(elapsed(b))),
        h('td', {}, logButton(b, slot))),
      h('tr', { class: 'log-row' }, h('td', { colspan: '7' }, slot)),
    ];
  });
  replace(main, ...appHeader(app, 'Bakes', 'bakes'),
    h('p', { class: 'muted' }, `The bakes of the latest ${LIMIT} executions of each pipeline.`),
    bakes.length ? h('table', { class: 'list', 'aria-label': 'Bakes' },
      h('thead', {}, h('tr', {}, ['Execution', 'Region', 'Package', 'Status', 'Image', 'Duration', 'Log'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows))
      : h('p', { class: 'muted' }, 'No bakes in the latest executions.'));
}
