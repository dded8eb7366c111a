// The pipeline editor, Deck's pipeline configuration page (#/applications/{app}/executions/configure/{id}): the
// stage graph with the pipeline's Configuration first, a panel for what is selected (the pipeline's options,
// triggers, parameters and notifications; a stage's fields as a form and as JSON), Save Changes / Revert with an
// unsaved-changes marker, the server's validation errors next to the field they name, and the revision history.
// Everything edits one plain object, ``config``; nothing is sent until Save Changes.

import { gate } from '../gate.js';
import { h, replace, actionButton } from '../dom.js';
import { href } from '../router.js';
import { refusal } from '../permissions.js';
import { drawGraph } from '../graph.js';
import { field, labelled } from '../editor/fields.js';
import { jsonEditor } from '../editor/json.js';
import { configText } from '../editor/diff.js';
import { commonFields, typeForm, typeLabel, downstream, nextRefId, removeStage } from '../editor/stages.js';
import { pipelinePanel } from '../editor/pipeline.js';
import { historyPanel } from '../editor/history.js';
import { pipelineActions } from '../editor/actions.js';

const clone = (value) => JSON.parse(JSON.stringify(value));
const CONFIG_REF = '__configuration';

/** Stages without refIds (an old straight pipeline) get Deck's: 1, 2, 3..., each after the one before. */
export function withRefIds(config) {
  const stages = config.stages || [];
  if (stages.length && stages.every((s) => s.refId === undefined || s.refId === null)) {
    stages.forEach((s, i) => { s.refId = String(i + 1); s.requisiteStageRefIds = i ? [String(i)] : []; });
  }
  config.stages = stages;
  return config;
}

/** The JSON paths a validation error's ``field`` may be shown at, most precise first: ``stages[0].a[1]`` →
 * ``stages[0].a[1]``, ``stages[0].a``, ``stages[0]``. */
export function fieldCandidates(path) {
  const out = [];
  let rest = String(path || '');
  while (rest) {
    out.push(rest);
    const cut = Math.max(rest.lastIndexOf('.'), rest.lastIndexOf('['));
    rest = cut > 0 ? rest.slice(0, cut) : '';
  }
  return out;
}

export async function configurePage({ params, main, notify }) {
  const [app, id] = params;
  const [configs, types] = await Promise.all([
    gate(`/applications/${encodeURIComponent(app)}/pipelineConfigs`),
    gate('/stageTypes').catch(() => []),
  ]);
  const found = configs.find((c) => c.id === id);
  if (!found) {
    replace(main, h('h1', {}, 'Pipeline not found'),
      h('p', { role: 'alert', class: 'error' }, `${app} has no pipeline with id ${id}.`),
      h('p', {}, h('a', { href: href('applications', app, 'executions') }, `Back to ${app}'s executions`)));
    return null;
  }
  const reason = refusal(app, 'WRITE');
  let saved = withRefIds(clone(found));
  let config = clone(saved);
  let selected = 0; // 0: the pipeline's Configuration; i > 0: stage i - 1
  let dirty = false;

  const graphWrap = h('div', { class: 'graph-wrap' });
  const panel = h('fieldset', { class: 'editor-panel', disabled: Boolean(reason), 'aria-label': 'Selected' });
  const status = h('span', { class: 'sync', role: 'status' });
  const saveError = h('p', { class: 'error', role: 'alert', hidden: true });
  const buttons = h('span', { class: 'save-buttons' });
  const historySlot = h('div', { id: 'history' });
  let historyOpen = false;
  let stageJson = null;

  const stageName = (s) => s.name || typeLabel(s.type) || `Stage ${s.refId}`;

  function drawStages() {
    const nodes = [{ name: 'Configuration', refId: CONFIG_REF, status: 'EDIT' },
      ...config.stages.map((s) => ({ name: stageName(s), refId: s.refId, status: 'EDIT',
        requisiteStageRefIds: (s.requisiteStageRefIds || []).length ? s.requisiteStageRefIds : [CONFIG_REF] }))];
    replace(graphWrap, drawGraph(nodes, selected, (i) => { selected = i; drawStages(); drawPanel(); graphWrap.querySelector('.node[aria-current="true"]')?.focus(); },
      `Stages of ${config.name}`, (n) => (n.refId === CONFIG_REF ? 'Configuration' : `Stage ${n.name}`)));
  }

  function drawBar() {
    status.textContent = dirty ? 'You have unsaved changes' : 'In sync with server';
    status.dataset.dirty = String(dirty);
    replace(buttons,
      h('button', { type: 'button', onclick: revert, disabled: !dirty }, 'Revert'),
      reason ? actionButton('Save Changes', save, reason, 'primary')
        : h('button', { type: 'button', class: 'primary', onclick: save, disabled: !dirty }, 'Save Changes'));
  }

  function changed() {
    const now = configText(config) !== configText(saved);
    if (now !== dirty) { dirty = now; drawBar(); }
    drawStages();
    if (stageJson && selected > 0) stageJson.set(config.stages[selected - 1]);
  }

  function dependsOn(stage, path) {
    const excluded = downstream(config.stages, stage.refId);
    const choices = config.stages.filter((s) => !excluded.has(String(s.refId)));
    const boxes = choices.map((s) => {
      const box = h('input', { type: 'checkbox', 'data-field': `${path}.requisiteStageRefIds`,
        checked: (stage.requisiteStageRefIds || []).map(String).includes(String(s.refId)) });
      box.addEventListener('change', () => {
        const reqs = (stage.requisiteStageRefIds || []).map(String).filter((r) => r !== String(s.refId));
        stage.requisiteStageRefIds = box.checked ? [...reqs, String(s.refId)] : reqs;
        changed();
        drawPanel(); // what may be chosen changed
      });
      return h('label', { class: 'check' }, box, ` ${stageName(s)}`);
    });
    return h('fieldset', { class: 'inline depends' }, h('legend', {}, 'Depends On'),
      boxes.length ? boxes : h('span', { class: 'muted' }, 'No stage it may depend on.'));
  }

  function stagePanel(index) {
    const stage = config.stages[index];
    const path = `stages[${index}]`;
    const known = types.map((t) => t.type);
    if (stage.type && !known.includes(stage.type)) known.push(stage.type);
    const typeSelect = h('select', { 'data-field': `${path}.type` },
      h('option', { value: '', disabled: true, selected: !stage.type }, 'Select a stage type'),
      known.sort().map((t) => h('option', { value: t, selected: t === stage.type }, `${typeLabel(t)} (${t})`)));
    typeSelect.addEventListener('change', () => {
      if (!stage.name || stage.name === typeLabel(stage.type)) stage.name = typeLabel(typeSelect.value);
      stage.type = typeSelect.value;
      changed();
      drawPanel();
      panel.querySelector('select[data-field$=".type"]')?.focus();
    });
    const form = h('div', { class: 'stage-form' });
    const drawForm = () => replace(form, commonFields(stage, path, changed), h('h4', {}, `${typeLabel(stage.type) || 'Stage'} Configuration`),
      typeForm(stage, path, changed));
    drawForm();
    stageJson = jsonEditor({
      value: stage, label: `Stage ${stageName(stage)} as JSON`, rows: 14, field: path,
      onValid: (value) => {
        for (const k of Object.keys(stage)) delete stage[k];
        Object.assign(stage, value);
        changed();
        drawForm();
      },
    });
    const json = stageJson;
    return [
      h('div', { class: 'panel-head' }, h('h2', {}, `Stage: ${stageName(stage)}`),
        h('button', { type: 'button', class: 'danger', onclick: () => remove(index) }, 'Remove stage')),
      labelled('Type', typeSelect),
      field({ key: 'name', label: 'Stage Name' }, stage, path, changed),
      dependsOn(stage, path),
      form,
      h('details', { class: 'json-details', ontoggle: () => json.set(stage) }, h('summary', {}, 'Edit stage as JSON'), json.element),
    ];
  }

  function drawPanel() {
    stageJson = null;
    if (selected > config.stages.length) selected = 0;
    if (selected === 0) {
      const whole = jsonEditor({ value: config, label: 'Pipeline as JSON', rows: 16, onValid: () => {} });
      const apply = h('button', { type: 'button', onclick: () => {
        if (whole.textarea.getAttribute('aria-invalid') === 'true') return;
        config = withRefIds({ ...JSON.parse(whole.textarea.value), id: saved.id });
        changed(); drawPanel();
      } }, 'Update pipeline');
      replace(panel, h('legend', { class: 'sr-only' }, 'Configuration'),
        h('div', { class: 'panel-head' }, h('h2', {}, 'Configuration')),
        pipelinePanel(config, changed, () => { drawPanel(); }),
        h('details', { class: 'json-details', ontoggle: () => whole.set(config) }, h('summary', {}, 'Edit pipeline as JSON'), whole.element, apply));
    } else {
      replace(panel, h('legend', { class: 'sr-only' }, `Stage ${stageName(config.stages[selected - 1])}`), stagePanel(selected - 1));
    }
  }

  function addStage() {
    const parent = selected > 0 ? config.stages[selected - 1] : null;
    const stage = { refId: nextRefId(config.stages), requisiteStageRefIds: parent ? [String(parent.refId)] : [], type: '', name: '' };
    config.stages.push(stage);
    selected = config.stages.length;
    changed();
    drawPanel();
    panel.querySelector('select[data-field$=".type"]')?.focus();
  }

  function remove(index) {
    removeStage(config.stages, index);
    selected = 0;
    changed();
    drawPanel();
  }

  function drawAll() {
    dirty = configText(config) !== configText(saved);
    drawStages();
    drawPanel();
    drawBar();
  }

  function revert() {
    config = clone(saved);
    saveError.hidden = true;
    clearFieldErrors();
    drawAll();
    notify('Reverted to the saved config', true);
  }

  function clearFieldErrors() {
    for (const el of main.querySelectorAll('.field-error')) el.remove();
    for (const el of main.querySelectorAll('[aria-invalid="true"][data-error]')) {
      el.removeAttribute('aria-invalid'); el.removeAttribute('aria-describedby'); el.removeAttribute('data-error');
    }
  }

  /** Show Gate's validation error next to the control of the field it names, and focus that control. */
  function showFieldError(path, message) {
    const stageMatch = /^stages\[(\d+)\]/.exec(path);
    const wanted = stageMatch && Number(stageMatch[1]) < config.stages.length ? Number(stageMatch[1]) + 1 : 0;
    if (selected !== wanted) { selected = wanted; drawStages(); drawPanel(); }
    let control = null;
    for (const candidate of fieldCandidates(path)) {
      control = panel.querySelector(`[data-field="${CSS.escape(candidate)}"]`);
      if (control) break;
    }
    if (!control) return false;
    const details = control.closest('details');
    if (details) details.open = true;
    const errorId = `field-error-${Math.random().toString(36).slice(2)}`;
    const note = h('p', { class: 'error field-error', role: 'alert', id: errorId, 'data-for': path }, message);
    (control.closest('.field, fieldset') || control).after(note);
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-describedby', errorId);
    control.dataset.error = 'true';
    control.addEventListener('input', () => { note.remove(); control.removeAttribute('aria-invalid'); }, { once: true });
    control.focus();
    return true;
  }

  async function save() {
    saveError.hidden = true;
    clearFieldErrors();
    try {
      const answer = await gate('/pipelines', { method: 'POST', body: config, query: { staleCheck: 'true' } });
      saved = withRefIds(clone(answer));
      config = clone(saved);
      drawAll();
      notify(`Saved ${config.name}`, true);
    } catch (err) {
      const body = err.body && typeof err.body === 'object' ? err.body : {};
      const message = body.message || err.message;
      if (body.field && showFieldError(body.field, `${body.field}: ${message}`)) {
        status.textContent = 'Not saved: see the error below the field';
        return;
      }
      saveError.textContent = `Could not save: ${err.message}`;
      saveError.hidden = false;
    }
  }

  async function toggleHistory(button) {
    historyOpen = !historyOpen;
    button.setAttribute('aria-expanded', String(historyOpen));
    if (!historyOpen) { replace(historySlot); return; }
    replace(historySlot, h('p', { class: 'muted' }, 'Loading…'));
    try {
      replace(historySlot, h('section', { class: 'card', 'aria-labelledby': 'history-title' },
        h('h2', { id: 'history-title' }, 'Pipeline Revision History'),
        await historyPanel({
          id: saved.id, current: config, dirty, reason,
          onRestore: (revision) => {
            config = withRefIds({ ...clone(revision), lastModified: saved.lastModified, updateTs: saved.updateTs });
            selected = 0;
            historyOpen = false;
            button.setAttribute('aria-expanded', 'false');
            replace(historySlot);
            drawAll();
            notify('Restored that version: Save Changes to keep it, Revert to drop it', true);
          },
        })));
    } catch (err) {
      replace(historySlot, h('p', { class: 'error', role: 'alert' }, `There was an error loading the history for this pipeline: ${err.message}`));
    }
  }

  const historyButton = h('button', { type: 'button', 'aria-expanded': 'false', 'aria-controls': 'history' }, 'View revision history');
  historyButton.addEventListener('click', () => toggleHistory(historyButton));
  const warnOnLeave = (event) => { if (dirty) { event.preventDefault(); event.returnValue = ''; } };
  window.addEventListener('beforeunload', warnOnLeave);

  const title = h('span', {}, config.name);
  const disabledNote = h('p', { class: 'notice readonly', hidden: !saved.disabled }, 'This pipeline is disabled: it does not run until it is enabled');
  const actions = pipelineActions({
    app, reason, notify,
    saved: () => saved,
    others: () => configs.filter((c) => c.id !== saved.id).map((c) => c.name),
    onSaved: (answer, change) => {
      saved = withRefIds(clone(answer));
      for (const key of Object.keys(change)) config[key] = clone(saved[key]);
      if ('locked' in change && !('locked' in saved)) delete config.locked;
      config.lastModified = saved.lastModified;
      config.updateTs = saved.updateTs;
      title.textContent = saved.name;
      disabledNote.hidden = !saved.disabled;
      drawAll();
    },
    onDeleted: () => {
      dirty = false; // nothing left to save
      location.hash = href('applications', app, 'executions');
    },
  });

  replace(main,
    h('p', {}, h('a', { href: href('applications', app, 'executions') }, `← ${app}`)),
    h('h1', {}, title, ' ', h('span', { class: 'muted' }, 'Pipeline configuration')),
    reason ? h('p', { class: 'notice readonly' }, `Read only: ${reason}`) : null,
    disabledNote,
    actions.element,
    h('div', { class: 'toolbar' }, actionButton('Add stage', addStage, reason), historyButton),
    graphWrap,
    historySlot,
    h('div', { class: 'editor' }, panel),
    h('div', { class: 'savebar' }, status, saveError, buttons));
  drawAll();
  return {
    leave: () => window.removeEventListener('beforeunload', warnOnLeave),
    // Deck's question when leaving the editor with unsaved changes for another page of the UI
    beforeLeave: () => (dirty ? 'You have unsaved changes.\nAre you sure you want to navigate away from this page?' : ''),
  };
}
