// Execution details: the summary, Deck's actions (Cancel execution with a reason, Pause/Resume, manual judgment
// Continue/Stop with its inputs; disabled with the reason when the caller lacks EXECUTE), the stage graph, and
// the selected stage's tasks, synthetic stages, context, outputs, errors and timings. Live like the executions page.

import { gate, temporalLink, temporalStageLink } from '../gate.js';
import { follow } from '../live.js';
import { h, replace, duration, elapsed, when, statusBadge, actionButton } from '../dom.js';
import { href, setQuery } from '../router.js';
import { refusal } from '../permissions.js';
import { drawGraph } from '../graph.js';
import { topLevelStages } from './executions.js';

const ACTIVE = new Set(['RUNNING', 'NOT_STARTED', 'BUFFERED']);

/** The errors Orca records on a stage: exception details, an ``error`` text, a failed task. */
export function stageErrors(stage) {
  const ctx = stage.context || {};
  const found = [];
  const details = (ctx.exception && ctx.exception.details) || {};
  if (details.error) found.push(String(details.error));
  for (const e of details.errors || []) found.push(String(e));
  if (ctx.error) found.push(typeof ctx.error === 'string' ? ctx.error : JSON.stringify(ctx.error));
  if (ctx.failureMessage) found.push(String(ctx.failureMessage));
  return [...new Set(found)];
}

function json(value) {
  return h('pre', { class: 'json', tabindex: '0' }, JSON.stringify(value || {}, null, 2));
}

function syntheticTree(all, parent, now) {
  const children = all.filter((s) => s.parentStageId === parent.id);
  if (!children.length) return null;
  return h('ul', { class: 'synthetic', 'aria-label': `Synthetic stages of ${parent.name}` }, children.map((c) => h('li', {},
    statusBadge(c.status), ` ${c.name || c.type} `, h('span', { class: 'muted' }, `(${c.syntheticStageOwner || 'child'}) ${duration(elapsed(c, now))}`),
    syntheticTree(all, c, now))));
}

const FINISHED = new Set(['SUCCEEDED', 'TERMINAL', 'CANCELED', 'STOPPED', 'FAILED_CONTINUE']);
const WAITING = new Set(['RUNNING', 'SUSPENDED']);

/** Deck's stage actions the API has: Skip remaining wait (a wait stage, an execution window) and Restart stage. */
function stageActions(execution, stage, reason, act) {
  const path = `/pipelines/${encodeURIComponent(execution.id)}/stages/${encodeURIComponent(stage.id)}`;
  const buttons = [];
  if (['wait', 'restrictExecutionDuringTimeWindow'].includes(stage.type) && WAITING.has(stage.status)) {
    buttons.push(actionButton('Skip remaining wait',
      () => act(path, { method: 'PATCH', body: { skipRemainingWait: true } }, `Skipped the rest of ${stage.name}`), reason));
  }
  if (FINISHED.has(stage.status)) {
    buttons.push(actionButton('Restart stage', () => act(`${path}/restart`, { method: 'PUT' }, `Restarted ${stage.name}`), reason));
  }
  return buttons.length ? h('div', { class: 'actions' }, buttons) : null;
}

function stagePanel(execution, stage, actions) {
  const now = Date.now();
  const errors = stageErrors(stage);
  // the stage's tasks are activities of the stage's workflow, each named "{stage}: {task}" in its history
  const inTemporal = temporalStageLink(execution.id, stage);
  const activity = (t) => h('a', { href: inTemporal, target: '_blank', rel: 'noopener', class: 'activity',
    title: `${stage.name}: ${t.name}`, 'aria-label': `Activity of task ${t.name} in Temporal` }, 'activity');
  return h('div', { class: 'stage-panel', id: 'stage-panel' },
    h('section', { 'aria-labelledby': 'stage-title' },
      h('h2', { id: 'stage-title' }, `${stage.name || stage.type}`, ' ', statusBadge(stage.status)),
      actions,
      h('p', { class: 'muted' }, `type ${stage.type} · refId ${stage.refId ?? ''} · started ${when(stage.startTime)} · ${duration(elapsed(stage, now))} · `,
        h('a', { href: inTemporal, target: '_blank', rel: 'noopener' }, 'Temporal stage workflow')),
      errors.length ? h('div', { role: 'alert' }, h('h3', {}, 'Errors'), h('ul', { class: 'error' }, errors.map((e) => h('li', {}, e)))) : null,
      h('h3', {}, 'Tasks'),
      (stage.tasks || []).length ? h('table', { class: 'list', 'aria-label': 'Tasks' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Task'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Duration'), h('th', { scope: 'col' }, 'Temporal'))),
        h('tbody', {}, stage.tasks.map((t) => h('tr', {}, h('td', {}, t.name), h('td', {}, statusBadge(t.status)),
          h('td', {}, duration(elapsed(t, now))), h('td', {}, activity(t))))))
        : h('p', { class: 'muted' }, 'No tasks yet.'),
      h('h3', {}, 'Synthetic stages'), syntheticTree(execution.stages || [], stage, now) || h('p', { class: 'muted' }, 'None.')),
    h('section', { 'aria-label': 'Context and outputs' },
      h('h3', {}, 'Context'), json(stage.context), h('h3', {}, 'Outputs'), json(stage.outputs)));
}

// `draft` keeps what a person chose or typed (a judgment's input, the cancel form and its reason) across the
// re-renders a live update causes, so a transition arriving mid-action never wipes the form being filled in.
function judgment(execution, stage, reason, act, draft) {
  const inputs = ((stage.context || {}).judgmentInputs || []).map((i) => i.value).filter(Boolean);
  const choice = inputs.length ? h('select', { 'aria-label': 'Judgment input' }, inputs.map((v) => h('option', { value: v }, v))) : null;
  if (choice) {
    const kept = draft.judgments[stage.id];
    if (kept !== undefined && inputs.includes(kept)) choice.value = kept;
    choice.addEventListener('change', () => { draft.judgments[stage.id] = choice.value; });
  }
  const send = (judgmentStatus) => act(`/pipelines/${encodeURIComponent(execution.id)}/stages/${encodeURIComponent(stage.id)}`,
    { method: 'PATCH', body: { judgmentStatus, ...(choice ? { judgmentInput: choice.value } : {}) } }, `Judged ${judgmentStatus}`);
  const instructions = (stage.context || {}).instructions;
  return h('div', { class: 'judgment', role: 'group', 'aria-label': `Manual judgment: ${stage.name}` },
    h('strong', {}, `${stage.name}: awaiting judgment`), instructions ? h('p', {}, instructions) : null,
    choice, ' ', actionButton('Continue', () => send('continue'), reason, 'primary'), ' ', actionButton('Stop', () => send('stop'), reason, 'danger'));
}

export async function detailsPage({ params, query, main, notify }) {
  const [app, id] = params;
  let execution = await gate(`/pipelines/${encodeURIComponent(id)}`);
  const reason = refusal(app, 'EXECUTE');
  const live = h('span', { class: 'live', 'data-on': 'false', role: 'status' }, 'connecting');
  const body = h('div');
  let selected = null;
  const draft = { cancel: null, judgments: {} }; // cancel: null (closed) or the reason typed so far
  // the selection is kept by refId (Deck's ?refId=), so a live update that adds or reorders stages keeps it
  let chosen = { refId: query.get('refId'), index: query.get('stage') };

  function pick(stages) {
    const byRef = chosen.refId ? stages.findIndex((s) => String(s.refId) === chosen.refId) : -1;
    if (byRef >= 0) return byRef;
    const byIndex = Number.parseInt(chosen.index || '', 10);
    if (byIndex >= 0 && byIndex < stages.length) return byIndex;
    if (selected !== null && selected < stages.length) return selected;
    const running = stages.findIndex((s) => s.status === 'RUNNING');
    return running >= 0 ? running : 0;
  }

  async function act(path, init, done) {
    try {
      await gate(path, init);
      notify(done, true);
      await refresh();
    } catch (err) {
      notify(err.message);
    }
  }

  function cancelForm() {
    const input = h('input', { type: 'text', 'aria-label': 'Reason for canceling', placeholder: 'Reason (optional)' });
    input.value = draft.cancel || '';
    input.addEventListener('input', () => { draft.cancel = input.value; });
    const form = h('form', { class: 'actions', 'aria-label': 'Cancel execution' }, input,
      h('button', { type: 'submit', class: 'danger' }, 'Confirm cancel'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const why = input.value.trim();
      draft.cancel = null;
      act(`/pipelines/${encodeURIComponent(id)}/cancel`, { method: 'PUT', query: { reason: why } }, 'Execution canceled');
    });
    return form;
  }

  function actions() {
    const slot = h('div');
    const running = ACTIVE.has(execution.status) || execution.status === 'PAUSED';
    const buttons = [];
    if (running) {
      const open = () => { replace(slot, cancelForm()); slot.querySelector('input').focus(); };
      buttons.push(actionButton('Cancel execution', () => { draft.cancel = draft.cancel ?? ''; open(); }, reason, 'danger'));
      if (draft.cancel !== null && !reason) {
        // the form was open when this update came: draw it again where it was, with the reason typed so far
        const typing = document.activeElement && document.activeElement.getAttribute('aria-label') === 'Reason for canceling';
        replace(slot, cancelForm());
        if (typing) queueMicrotask(() => slot.querySelector('input')?.focus());
      }
      if (execution.status === 'PAUSED') buttons.push(actionButton('Resume', () => act(`/pipelines/${encodeURIComponent(id)}/resume`, { method: 'PUT' }, 'Execution resumed'), reason));
      else buttons.push(actionButton('Pause', () => act(`/pipelines/${encodeURIComponent(id)}/pause`, { method: 'PUT' }, 'Execution paused'), reason));
    }
    const judgments = (execution.stages || []).filter((s) => s.type === 'manualJudgment' && s.status === 'RUNNING');
    return h('div', {}, h('div', { class: 'actions' }, buttons, slot), judgments.map((s) => judgment(execution, s, reason, act, draft)));
  }

  function render() {
    const stages = topLevelStages(execution);
    selected = pick(stages);
    const onSelect = (i) => {
      selected = i;
      chosen = { refId: stages[i].refId === undefined ? null : String(stages[i].refId), index: String(i) };
      const q = new URLSearchParams({ stage: String(i), refId: String(stages[i].refId ?? '') });
      setQuery(q);
      render();
      main.querySelector(`.node[aria-current="true"]`)?.focus();
    };
    const t = execution.trigger || {};
    replace(body,
      h('div', { class: 'summary' }, statusBadge(execution.status),
        h('span', {}, `${t.type || 'manual'} trigger${t.user ? ` by ${t.user}` : ''}`),
        h('span', {}, `started ${when(execution.startTime || execution.buildTime)}`),
        h('span', {}, duration(elapsed(execution))),
        h('a', { href: temporalLink(id), target: '_blank', rel: 'noopener' }, 'Temporal workflow'), live),
      actions(),
      h('div', { class: 'graph-wrap' }, drawGraph(stages, selected, onSelect, `Stages of ${execution.name}`)),
      stages.length ? stagePanel(execution, stages[selected], stageActions(execution, stages[selected], reason, act))
        : h('p', { class: 'muted' }, 'No stages.'));
  }

  async function refresh() {
    execution = await gate(`/pipelines/${encodeURIComponent(id)}`);
    render();
  }

  replace(main,
    h('p', {}, h('a', { href: href('applications', app, 'executions') }, `← ${app}`)),
    h('h1', {}, execution.name || 'Execution', ' ', h('span', { class: 'muted' }, id)),
    body);
  render();
  const stop = follow(app, {
    executionId: id,
    onChange: () => refresh().catch((err) => notify(err.message)),
    onState: (on) => { live.dataset.on = String(on); live.textContent = on ? 'live' : 'reconnecting'; },
  });
  // a link to another stage of this execution (?refId= or ?stage=) changes only the query: select it in place
  const here = location.hash.split('?')[0];
  const followQuery = () => {
    const [path, search = ''] = location.hash.split('?');
    if (path !== here) return; // another page: app.js routes it
    const q = new URLSearchParams(search);
    if (q.get('refId') === chosen.refId && q.get('stage') === chosen.index) return;
    chosen = { refId: q.get('refId'), index: q.get('stage') };
    render();
  };
  window.addEventListener('hashchange', followQuery);
  return () => { stop(); window.removeEventListener('hashchange', followQuery); };
}
