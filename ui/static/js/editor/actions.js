// Deck's "Pipeline Actions" menu of the pipeline editor: Rename, Disable / Enable, Lock / Unlock and Delete, each
// asking first in a small form (Deck's modals), through Gate's routes: a rename, a disable and a lock are a save of
// the stored config with that one change (POST /pipelines?staleCheck=true, as Deck's PipelineConfigService does);
// Delete is DELETE /pipelines/{app}/{name}. The editor's unsaved edits are kept across a rename, disable or lock.

import { gate } from '../gate.js';
import { h, replace, actionButton } from '../dom.js';

/** Why a new pipeline name may not be used ('' when it may): Deck's rules (required, unique in the application
 * ignoring case, none of the characters Front50 refuses in a name). */
export function renameProblem(name, current, others) {
  const text = String(name || '').trim();
  if (!text) return 'Pipeline Name is required';
  if (text === current) return 'That is the name it has';
  if (/[\\/?%#]/.test(text)) return 'Pipeline Name may not contain \\ / ? % or #';
  if ((others || []).some((n) => String(n).toLowerCase() === text.toLowerCase() && n !== current)) {
    return `There is already a pipeline named ${text}`;
  }
  return '';
}

export function isLocked(config) {
  return Boolean(config && config.locked && config.locked.ui);
}

/**
 * The menu. ``saved()`` is the stored config; ``onSaved(stored, change)`` takes the server's answer (``change`` the
 * fields changed, to apply to the editor's working copy); ``onDeleted()`` leaves the editor. ``others`` are the
 * application's pipeline names (for a rename's check).
 */
export function pipelineActions({ app, reason, saved, others, onSaved, onDeleted, notify }) {
  const slot = h('div', { class: 'pipeline-action-form' });
  const menu = h('div', { class: 'toolbar pipeline-actions', role: 'group', 'aria-label': 'Pipeline Actions' });

  function form(title, body, submitLabel, onSubmit, cls = 'primary') {
    const error = h('p', { class: 'error form-error', role: 'alert', hidden: true });
    const id = `pa-${Math.random().toString(36).slice(2)}`;
    const el = h('form', { class: 'card', 'aria-labelledby': id }, h('h3', { id }, title), body, error,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: cls }, submitLabel),
        h('button', { type: 'button', onclick: () => replace(slot) }, 'Cancel')));
    el.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.hidden = true;
      const buttons = el.querySelectorAll('button');
      buttons.forEach((b) => { b.disabled = true; });
      try {
        await onSubmit();
        replace(slot);
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
        buttons.forEach((b) => { b.disabled = false; });
      }
    });
    replace(slot, el);
    el.querySelector('input, textarea, button[type=submit]')?.focus();
  }

  async function store(change, message) {
    const answer = await gate('/pipelines', { method: 'POST', body: { ...saved(), ...change }, query: { staleCheck: 'true' } });
    onSaved(answer, change);
    notify(message, true);
    draw();
  }

  function rename() {
    const current = saved().name;
    const input = h('input', { type: 'text', value: current, 'data-field': 'name', required: true });
    form('Rename Pipeline', h('label', { class: 'field' }, 'Pipeline Name', input), 'Rename', async () => {
      const problem = renameProblem(input.value, current, others());
      if (problem) { input.setAttribute('aria-invalid', 'true'); input.focus(); throw new Error(problem); }
      await store({ name: input.value.trim() }, `Renamed ${current} to ${input.value.trim()}`);
    });
    input.select();
  }

  function toggleDisabled() {
    const disabling = !saved().disabled;
    form(disabling ? 'Really Disable Pipeline?' : 'Really Enable Pipeline?',
      h('p', {}, disabling
        ? `${saved().name} will not run from its triggers or by hand until it is enabled again.`
        : `${saved().name} will run from its triggers again.`),
      disabling ? 'Disable pipeline' : 'Enable pipeline',
      () => store({ disabled: disabling }, `${saved().name} ${disabling ? 'disabled' : 'enabled'}`),
      disabling ? 'danger' : 'primary');
  }

  function lock() {
    const allow = h('input', { type: 'checkbox', checked: true });
    const description = h('textarea', { rows: 2 });
    form('Lock Pipeline', [
      h('p', {}, 'A locked pipeline cannot be changed from the UI (nor through the API until it is unlocked).'),
      h('label', { class: 'check' }, allow, ' Allow unlock via UI'),
      h('label', { class: 'field' }, 'Description', description),
    ], 'Lock pipeline', () => store({ locked: { ui: true, allowUnlockUi: allow.checked, description: description.value.trim() } },
      `${saved().name} locked`));
  }

  function unlock() {
    form('Really Unlock Pipeline?', h('p', {}, `${saved().name} can be edited again once it is unlocked.`), 'Unlock pipeline',
      () => store({ locked: { ui: false, allowUnlockUi: true } }, `${saved().name} unlocked`));
  }

  function remove() {
    const name = saved().name;
    form('Really Delete Pipeline?', h('p', {}, `Delete ${name} from ${app}? Its executions are kept; its configuration and triggers are not.`),
      'Delete pipeline', async () => {
        await gate(`/pipelines/${encodeURIComponent(app)}/${encodeURIComponent(name)}`, { method: 'DELETE' });
        notify(`Deleted ${name}`, true);
        onDeleted();
      }, 'danger');
  }

  function draw() {
    const config = saved();
    const locked = isLocked(config);
    const lockedReason = locked ? `${config.name} is locked${config.locked.description ? `: ${config.locked.description}` : ''}` : '';
    const blocked = reason || lockedReason;
    replace(menu,
      h('span', { class: 'muted' }, 'Pipeline Actions:'),
      actionButton('Rename', rename, blocked),
      actionButton(config.disabled ? 'Enable' : 'Disable', toggleDisabled, blocked),
      locked
        ? actionButton('Unlock', unlock, reason || (config.locked.allowUnlockUi === false ? 'This pipeline does not allow unlocking from the UI' : ''))
        : actionButton('Lock', lock, reason),
      actionButton('Delete', remove, blocked, 'danger'));
  }

  draw();
  return { element: h('div', {}, menu, slot), draw };
}
