// Executions of an application, grouped by pipeline: each execution a row of stage bars coloured by status, with
// durations, trigger and user; filters (status, pipeline, search) kept in the URL; live through server-sent events.
//
// Rendering stays cheap at 500 executions: rows are plain DOM built once per change of that execution (keyed by
// id), rows off screen are skipped by the browser (content-visibility), and the running clock touches only the
// duration text of running rows.

import { gate } from '../gate.js';
import { follow } from '../live.js';
import { h, replace, duration, elapsed, when, statusBadge, actionButton } from '../dom.js';
import { href, setQuery } from '../router.js';
import { refusal } from '../permissions.js';
import { manualExecutionForm, needsForm } from '../manual.js';
import { createPipelineForm } from '../editor/create.js';
import { appNav } from '../infra.js';

export const STATUSES = ['RUNNING', 'PAUSED', 'NOT_STARTED', 'SUCCEEDED', 'TERMINAL', 'CANCELED', 'STOPPED', 'FAILED_CONTINUE'];
const LIMITS = ['5', '10', '25', '100'];
const FINISHED = new Set(['SUCCEEDED', 'TERMINAL', 'CANCELED', 'STOPPED', 'FAILED_CONTINUE', 'SKIPPED']);

export function topLevelStages(execution) {
  return (execution.stages || []).filter((s) => !s.parentStageId && !s.syntheticStageOwner);
}

function triggerText(execution) {
  const t = execution.trigger || {};
  const user = t.user || (execution.authentication && execution.authentication.user) || '';
  return [t.type || 'manual', user && `by ${user}`].filter(Boolean).join(' ');
}

/** One execution's row: its link, trigger and user, a bar per top-level stage, its status and duration. */
export function executionRow(app, execution, now = Date.now()) {
  const stages = topLevelStages(execution);
  const details = href('applications', app, 'executions', 'details', execution.id);
  const bars = stages.map((s, i) => {
    const label = `${s.name || s.type}: ${s.status || 'NOT_STARTED'} ${duration(elapsed(s, now))}`.trim();
    return h('a', { class: `bar s-${s.status || 'NOT_STARTED'}`, href: `${details}?stage=${i}&refId=${encodeURIComponent(s.refId || '')}`,
      title: label, 'aria-label': `Stage ${label}` }, s.name || s.type);
  });
  const time = h('span', { class: 'clock', text: duration(elapsed(execution, now)) });
  return h('div', { class: 'execution', role: 'listitem', 'data-id': execution.id, 'data-status': execution.status },
    h('div', { class: 'meta' },
      h('a', { href: details, 'aria-label': `Execution ${execution.id} of ${execution.name}` }, `#${execution.id.slice(-6)}`),
      ` ${triggerText(execution)}`, h('br'), when(execution.startTime || execution.buildTime)),
    h('div', { class: 'bars' }, bars.length ? bars : h('span', { class: 'muted' }, 'no stages')),
    h('div', {}, statusBadge(execution.status), ' ', time));
}

function matches(execution, filters) {
  if (filters.statuses.size && !filters.statuses.has(execution.status)) return false;
  if (filters.pipeline && execution.name !== filters.pipeline) return false;
  if (!filters.q) return true;
  const q = filters.q.toLowerCase();
  const t = execution.trigger || {};
  return [execution.id, execution.name, t.user, t.type, ...topLevelStages(execution).map((s) => s.name)]
    .some((v) => String(v || '').toLowerCase().includes(q));
}

function readFilters(query) {
  return {
    statuses: new Set((query.get('status') || '').split(',').filter(Boolean)),
    pipeline: query.get('pipeline') || '',
    q: query.get('q') || '',
    limit: LIMITS.includes(query.get('limit')) ? query.get('limit') : '10',
  };
}

/** Gate's query for the executions the filters may show: ``limit`` per pipeline, the chosen ``statuses``. */
export function fetched(filters) {
  return { limit: filters.limit, statuses: [...filters.statuses].join(',') };
}

function writeFilters(filters) {
  const query = new URLSearchParams();
  if (filters.statuses.size) query.set('status', [...filters.statuses].join(','));
  if (filters.pipeline) query.set('pipeline', filters.pipeline);
  if (filters.q) query.set('q', filters.q);
  if (filters.limit !== '10') query.set('limit', filters.limit);
  setQuery(query);
}

export async function executionsPage({ params, query, main, notify }) {
  const app = params[0];
  const filters = readFilters(query);
  const [configs, executions] = await Promise.all([
    gate(`/applications/${encodeURIComponent(app)}/pipelineConfigs`),
    gate(`/applications/${encodeURIComponent(app)}/pipelines`, { query: fetched(filters) }),
  ]);
  const byId = new Map(executions.map((e) => [e.id, e]));
  const rows = new Map();
  const groupsEl = h('div', { id: 'groups' });
  const live = h('span', { class: 'live', 'data-on': 'false', role: 'status' }, 'connecting');
  const mayExecute = refusal(app, 'EXECUTE');
  const createSlot = h('div');

  async function run(config, trigger) {
    try {
      await gate(`/pipelines/${encodeURIComponent(app)}/${encodeURIComponent(config.id || config.name)}`,
        { method: 'POST', body: trigger || { type: 'manual' } });
      notify(`Started ${config.name}`, true);
      return true;
    } catch (err) {
      notify(`Could not start ${config.name}: ${err.message}`);
      return false;
    }
  }

  function start(config, slot) {
    if (!needsForm(config)) return run(config);
    return replace(slot, manualExecutionForm(app, config, async (trigger) => { if (await run(config, trigger)) replace(slot); }));
  }

  function groupNames() {
    const names = configs.map((c) => c.name);
    for (const e of byId.values()) if (!names.includes(e.name)) names.push(e.name);
    return names;
  }

  function render() {
    const now = Date.now();
    rows.clear();
    const groups = [];
    for (const name of groupNames()) {
      if (filters.pipeline && filters.pipeline !== name) continue;
      const config = configs.find((c) => c.name === name);
      const shown = [...byId.values()].filter((e) => e.name === name && matches(e, filters))
        .sort((a, b) => (b.startTime || b.buildTime || 0) - (a.startTime || a.buildTime || 0));
      const list = h('div', { role: 'list', 'aria-label': `Executions of ${name}` });
      for (const e of shown) { const row = executionRow(app, e, now); rows.set(e.id, row); list.append(row); }
      const formSlot = h('div');
      const startButton = config ? actionButton('Start Manual Execution', () => start(config, formSlot), mayExecute) : null;
      groups.push(h('section', { class: 'group', 'data-pipeline': name, 'aria-label': `Pipeline ${name}` },
        h('header', {}, h('h2', {}, name), startButton,
          config ? h('a', { href: href('applications', app, 'executions', 'configure', config.id) }, 'Configure') : null,
          h('span', { class: 'muted' }, `${shown.length} shown`)),
        formSlot,
        shown.length ? list : h('p', { class: 'muted', style: 'padding: 6px 12px; margin: 0' }, 'No executions match.')));
    }
    replace(groupsEl, groups.length ? groups : h('p', { class: 'muted' }, 'No pipelines yet.'));
  }

  // the status filter is Gate's (statuses=): the page fetches only executions it may show
  async function refetch() {
    const fresh = await gate(`/applications/${encodeURIComponent(app)}/pipelines`, { query: fetched(filters) });
    byId.clear();
    for (const e of fresh) byId.set(e.id, e);
    render();
  }

  async function changed(id) {
    if (id === null) return refetch().catch((err) => notify(err.message)); // a change of some execution: the list
    try {
      const execution = await gate(`/pipelines/${encodeURIComponent(id)}`);
      const known = byId.has(id);
      byId.set(id, execution);
      const row = rows.get(id);
      if (known && row && matches(execution, filters)) row.replaceWith(rows.set(id, executionRow(app, execution)).get(id));
      else render();
    } catch (err) {
      if (err.status === 404) { byId.delete(id); render(); }
    }
  }

  const statusBoxes = STATUSES.map((s) => {
    const box = h('input', { type: 'checkbox', value: s, checked: filters.statuses.has(s) });
    box.addEventListener('change', () => {
      if (box.checked) filters.statuses.add(s); else filters.statuses.delete(s);
      writeFilters(filters); refetch().catch((err) => notify(err.message));
    });
    return h('label', {}, box, ` ${s.replace('_', ' ').toLowerCase()}`);
  });
  const pipelineSelect = h('select', { 'aria-label': 'Pipeline' },
    h('option', { value: '' }, 'All pipelines'), groupNames().map((n) => h('option', { value: n, selected: n === filters.pipeline }, n)));
  pipelineSelect.addEventListener('change', () => { filters.pipeline = pipelineSelect.value; writeFilters(filters); render(); });
  const search = h('input', { type: 'search', 'aria-label': 'Search executions', placeholder: 'Search id, user, stage', value: filters.q });
  search.addEventListener('input', () => { filters.q = search.value.trim(); writeFilters(filters); render(); });
  const limit = h('select', { 'aria-label': 'Executions per pipeline' }, LIMITS.map((n) => h('option', { value: n, selected: n === filters.limit }, n)));
  limit.addEventListener('change', () => { filters.limit = limit.value; writeFilters(filters); location.reload(); });

  replace(main,
    h('h1', {}, app, ' ', h('span', { class: 'muted' }, 'Executions')),
    appNav(app, 'executions', live),
    h('div', { class: 'toolbar' }, actionButton('Create new pipeline',
      () => replace(createSlot, createPipelineForm(app, { index: configs.length, onCancel: () => replace(createSlot) })), refusal(app, 'WRITE'))),
    createSlot,
    h('div', { class: 'toolbar', role: 'search' },
      search, pipelineSelect, h('fieldset', {}, h('legend', {}, 'Status'), statusBoxes),
      h('label', {}, 'Per pipeline ', limit)),
    groupsEl);
  render();

  const stop = follow(app, {
    onChange: (id) => changed(id),
    onState: (on) => { live.dataset.on = String(on); live.textContent = on ? 'live' : 'reconnecting'; },
  });
  const clock = setInterval(() => {
    const now = Date.now();
    for (const [id, row] of rows) {
      const e = byId.get(id);
      if (e && !FINISHED.has(e.status) && e.startTime) row.querySelector('.clock').textContent = duration(elapsed(e, now));
    }
  }, 1000);
  return () => { stop(); clearInterval(clock); };
}
