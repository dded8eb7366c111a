// Deck's "Server Group Actions" menu in a server group's details panel: Resize (min/desired/max), Disable, Enable,
// Destroy (typed confirmation of the name) and Rollback (to an older group of the same cluster), each submitted as
// Gate's ad hoc task (POST /applications/{app}/tasks with the job Deck's ServerGroupWriter sends) and followed
// to its result by the task monitor (the application's live stream, one GET /tasks/{id} per change).

import { gate } from '../gate.js';
import { follow } from '../live.js';
import { h, replace, actionButton, statusBadge } from '../dom.js';
import { refusal, accountRefusal } from '../permissions.js';
import { stageErrors } from './details.js';

const DONE = new Set(['SUCCEEDED', 'TERMINAL', 'CANCELED', 'STOPPED', 'FAILED_CONTINUE', 'SKIPPED']);

export function providerOf(group) {
  return group.cloudProvider || group.type || 'aws';
}

/** Deck's job for an action on one server group: the group's names, moniker, region, account and provider. */
export function serverGroupJob(type, group, extra = {}) {
  const job = { ...extra, type, asgName: group.name, serverGroupName: group.name, region: group.region,
    credentials: group.account, cloudProvider: providerOf(group) };
  if (group.moniker) job.moniker = group.moniker;
  return job;
}

/** Deck's capacity text in a resize's description: ``min: 1, desired: 4, max: 5`` (the object's own order). */
export function capacityString(capacity) {
  return Object.entries(capacity || {}).map(([k, v]) => `${k}: ${v}`).join(', ');
}

/** The form's capacity, or ``{error, field}`` naming the first field that does not fit (Deck's form rules). */
export function checkCapacity({ min, desired, max }) {
  const values = { min, desired, max };
  for (const [name, text] of Object.entries(values)) {
    if (!/^\d+$/.test(String(text).trim())) return { error: `${name} must be a whole number of 0 or more`, field: name };
  }
  const c = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Number(v)]));
  if (c.min > c.max) return { error: 'min must not be more than max', field: 'min' };
  if (c.desired < c.min || c.desired > c.max) return { error: 'desired must be between min and max', field: 'desired' };
  return { capacity: { min: c.min, max: c.max, desired: c.desired } };
}

/** The older groups of the same cluster, account and region a group may roll back to (newest first). */
export function rollbackTargets(group, all) {
  const clusterOf = (g) => g.cluster || (g.moniker && g.moniker.cluster) || g.name;
  return (all || []).filter((g) => g !== group && g.name !== group.name && g.account === group.account
    && g.region === group.region && clusterOf(g) === clusterOf(group) && providerOf(g) === providerOf(group)
    && (g.createdTime || 0) <= (group.createdTime || 0))
    .sort((a, b) => (b.createdTime || 0) - (a.createdTime || 0));
}

/** Why the caller may not act on the group: Gate's task route needs EXECUTE on the application and WRITE on
 * the account the job names. */
export function actionRefusal(app, group) {
  return refusal(app, 'EXECUTE') || accountRefusal(group.account, 'WRITE');
}

/** The task monitor: the task's steps and status, live; ``onDone(task)`` when it ends. Returns a stop function. */
function monitor(app, ref, box, onDone) {
  const id = ref.split('/').pop();
  let stopped = false;
  let stop = () => {};
  const show = (task) => {
    const execution = task.execution || {};
    const errors = (execution.stages || []).flatMap(stageErrors);
    replace(box, h('h3', {}, task.name || 'Task'),
      h('p', { role: 'status' }, statusBadge(task.status), task.status === 'SUCCEEDED' ? ' Operation succeeded!' : ''),
      h('ol', { class: 'task-steps', 'aria-label': 'Task steps' },
        (task.steps || []).map((s) => h('li', {}, statusBadge(s.status), ` ${s.name}`))),
      errors.length ? h('ul', { class: 'error', role: 'alert', 'aria-label': 'Task errors' }, errors.map((e) => h('li', {}, e))) : null,
      h('p', { class: 'muted' }, `Task ${id}`));
  };
  const read = async () => {
    if (stopped) return;
    try {
      const task = await gate(`/tasks/${encodeURIComponent(id)}`);
      show(task);
      if (DONE.has(task.status) && !stopped) { stopped = true; stop(); onDone(task); }
    } catch (err) {
      replace(box, h('p', { class: 'error', role: 'alert' }, `Could not read task ${id}: ${err.message}`));
    }
  };
  stop = follow(app, { executionId: id, onChange: read, onState: (up) => { if (up) read(); } });
  read();
  return () => { stopped = true; stop(); };
}

/**
 * The actions menu of a server group's details panel. ``all`` are the application's server groups (for Rollback);
 * ``onDone()`` runs when a task has ended (the page re-reads the cache). Returns ``{element, stop}``.
 */
export function serverGroupActions(app, group, all, { onDone } = {}) {
  const reason = actionRefusal(app, group);
  const slot = h('div', { class: 'sg-action-form' });
  const taskBox = h('section', { class: 'task-monitor', 'aria-label': 'Task', hidden: true });
  let stopMonitor = () => {};
  const targets = group.isDisabled ? [] : rollbackTargets(group, all);

  async function submit(job, description, form) {
    const error = form.querySelector('.form-error');
    for (const b of form.querySelectorAll('button')) b.disabled = true;
    try {
      const answer = await gate(`/applications/${encodeURIComponent(app)}/tasks`, {
        method: 'POST', body: { job: [job], application: app, description },
      });
      replace(slot);
      taskBox.hidden = false;
      replace(taskBox, h('h3', {}, description), h('p', { role: 'status' }, 'Submitted…'));
      stopMonitor();
      stopMonitor = monitor(app, answer.ref, taskBox, (task) => onDone && onDone(task));
    } catch (err) {
      for (const b of form.querySelectorAll('button')) b.disabled = false;
      error.textContent = err.message;
      error.hidden = false;
    }
  }

  function dialog(title, body, submitLabel, onSubmit, cls = 'primary') {
    const error = h('p', { class: 'error form-error', role: 'alert', hidden: true });
    const headingId = `sg-form-${Math.random().toString(36).slice(2)}`;
    const form = h('form', { class: 'card sg-form', 'aria-labelledby': headingId },
      h('h3', { id: headingId }, title), body, error,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: cls }, submitLabel),
        h('button', { type: 'button', onclick: () => replace(slot) }, 'Cancel')));
    form.addEventListener('submit', (event) => { event.preventDefault(); error.hidden = true; onSubmit(form, error); });
    replace(slot, form);
    form.querySelector('input, select, button[type=submit]')?.focus();
    return form;
  }

  function reasonField() {
    return h('label', { class: 'field' }, 'Reason', h('input', { type: 'text', name: 'reason', placeholder: '(optional)' }));
  }

  function withReason(job, form) {
    const text = form.querySelector('input[name=reason]')?.value.trim();
    return text ? { ...job, reason: text } : job;
  }

  function resize() {
    const c = group.capacity || {};
    const input = (name) => h('label', { class: 'field' }, name[0].toUpperCase() + name.slice(1),
      h('input', { type: 'number', min: '0', step: '1', name, value: c[name] ?? 0, 'data-field': `capacity.${name}` }));
    dialog(`Resize ${group.name}`, [
      h('p', { class: 'muted' }, `Current size: ${c.min ?? '?'} min / ${c.desired ?? '?'} desired / ${c.max ?? '?'} max`),
      h('div', { class: 'capacity-fields' }, input('min'), input('desired'), input('max')), reasonField(),
    ], 'Submit', (form, error) => {
      const value = (n) => form.querySelector(`input[name=${n}]`).value;
      const checked = checkCapacity({ min: value('min'), desired: value('desired'), max: value('max') });
      if (checked.error) {
        error.textContent = checked.error;
        error.hidden = false;
        const control = form.querySelector(`input[name=${checked.field}]`);
        control.setAttribute('aria-invalid', 'true');
        control.focus();
        return;
      }
      const job = withReason(serverGroupJob('resizeServerGroup', group, { capacity: checked.capacity }), form);
      const from = capacityString(group.capacity);
      submit(job, `Resize Server Group: ${group.name}${from ? ` from (${from}) ` : ' '}to (${capacityString(checked.capacity)})`, form);
    });
  }

  function confirmOnly(verb, type) {
    dialog(`Really ${verb.toLowerCase()} ${group.name}?`, [reasonField()], verb,
      (form) => submit(withReason(serverGroupJob(type, group), form), `${verb} Server Group: ${group.name}`, form),
      verb === 'Disable' ? 'danger' : 'primary');
  }

  function destroy() {
    const typed = h('input', { type: 'text', name: 'verify', autocomplete: 'off' });
    const form = dialog(`Really destroy ${group.name}?`, [
      h('p', {}, 'Destroying a server group terminates its instances and cannot be undone.'),
      h('label', { class: 'field' }, `Please type in the name of the server group (${group.name}) to confirm`, typed),
      reasonField(),
    ], 'Destroy', (f, error) => {
      if (typed.value.trim() !== group.name) {
        error.textContent = `Type ${group.name} to confirm`;
        error.hidden = false;
        typed.setAttribute('aria-invalid', 'true');
        typed.focus();
        return;
      }
      submit(withReason(serverGroupJob('destroyServerGroup', group), f), `Destroy Server Group: ${group.name}`, f);
    }, 'danger');
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    typed.addEventListener('input', () => { button.disabled = typed.value.trim() !== group.name; });
    typed.focus();
  }

  function rollback() {
    const select = h('select', { name: 'restore' }, targets.map((g) => h('option', { value: g.name },
      `${g.name}${g.isDisabled ? ' (disabled)' : ''}`)));
    dialog(`Rollback ${group.name}`, [
      h('label', { class: 'field' }, 'Restore to', select), reasonField(),
    ], 'Submit', (form) => {
      const job = {
        type: 'rollbackServerGroup', region: group.region, credentials: group.account, cloudProvider: providerOf(group),
        rollbackType: 'EXPLICIT',
        rollbackContext: { rollbackServerGroupName: group.name, restoreServerGroupName: select.value, targetHealthyRollbackPercentage: 100 },
      };
      if (group.moniker) job.moniker = group.moniker;
      submit(withReason(job, form), `Rollback Server Group: ${group.name}`, form);
    });
  }

  const buttons = [actionButton('Resize', resize, reason)];
  if (group.isDisabled) buttons.push(actionButton('Enable', () => confirmOnly('Enable', 'enableServerGroup'), reason));
  else buttons.push(actionButton('Disable', () => confirmOnly('Disable', 'disableServerGroup'), reason));
  if (targets.length) buttons.push(actionButton('Rollback', rollback, reason));
  buttons.push(actionButton('Destroy', destroy, reason, 'danger'));
  const element = h('section', { class: 'sg-actions', 'aria-label': 'Server Group Actions' },
    h('h3', {}, 'Server Group Actions'), h('div', { class: 'toolbar' }, buttons), slot, taskBox);
  return { element, stop: () => stopMonitor() };
}
