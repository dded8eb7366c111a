// Deck's Start Manual Execution form: the "Trigger" dropdown (the pipeline's enabled triggers; the chosen one's
// fields, such as a Jenkins build number, a Docker tag or artifacts, go into the run's trigger), the parameters
// from parameterConfig (label or name, description, default, options, required), Run, and Preview: a dry run of
// the pipeline's ${...} expressions with that trigger (POST .../pipelineConfigs/{id}/preview), nothing started.

import { gate } from './gate.js';
import { h, replace } from './dom.js';

const BUILD = ['jenkins', 'travis', 'wercker', 'concourse', 'gitlabci', 'gitlab-ci', 'githubactions', 'github-actions'];
//: the fields a person types for a trigger of each type (the rest of the trigger comes from its config)
const FIELDS = {
  ...Object.fromEntries(BUILD.map((t) => [t, [['buildNumber', 'Build number']]])),
  docker: [['tag', 'Tag']],
  git: [['branch', 'Branch'], ['hash', 'Commit']],
};
//: a trigger's config keys that are not part of the run's trigger
const CONFIG_ONLY = new Set(['enabled', 'id', 'expectedArtifactIds', 'runAsUser', 'secret', 'description']);

/** Whether starting ``config`` needs the form (a parameter or a trigger to choose); otherwise Run starts it. */
export function needsForm(config) {
  return Boolean((config.parameterConfig || []).length || enabledTriggers(config).length);
}

export function enabledTriggers(config) {
  return (config.triggers || []).filter((t) => t && typeof t === 'object' && t.enabled !== false);
}

/** How Deck names a trigger in the dropdown: its type, then what it watches. */
export function triggerLabel(trigger) {
  const what = [trigger.master, trigger.job].filter(Boolean).join('/') || trigger.repository || trigger.project
    || [trigger.registry, trigger.repository].filter(Boolean).join('/') || trigger.source || trigger.slug || trigger.cronExpression || '';
  return what ? `${trigger.type}: ${what}` : String(trigger.type);
}

/** The body of the start (and of the preview): the chosen trigger's fields, the typed ones, the parameters. */
export function triggerBody(chosen, typed, parameters, artifacts) {
  const body = { type: 'manual' };
  if (chosen) for (const [k, v] of Object.entries(chosen)) if (!CONFIG_ONLY.has(k) && k !== 'type') body[k] = v;
  for (const [k, v] of Object.entries(typed)) if (v !== '') body[k] = /^\d+$/.test(v) && k === 'buildNumber' ? Number(v) : v;
  if (parameters && Object.keys(parameters).length) body.parameters = parameters;
  if (artifacts && artifacts.length) body.artifacts = artifacts;
  return body;
}

function previewView(result) {
  return h('div', {},
    h('h4', {}, 'Trigger'), h('pre', { class: 'json', tabindex: '0' }, JSON.stringify(result.trigger, null, 2)),
    (result.stages || []).map((s) => h('div', { class: 'preview-stage', role: 'group', 'aria-label': `Preview of stage ${s.name || s.refId}` },
      h('h4', {}, `${s.name || s.type} (${s.type})`),
      s.detail ? h('ul', { class: 'error', 'aria-label': 'Expressions not evaluated' },
        Object.entries(s.detail).map(([expression, failures]) => h('li', {}, `${expression}: `,
          (Array.isArray(failures) ? failures : [failures]).map((f) => (f && f.description) || JSON.stringify(f)).join('; ')))) : null,
      h('pre', { class: 'json', tabindex: '0' }, JSON.stringify(s.context, null, 2)))));
}

/** The form; ``onRun(triggerBody)`` on Run. */
export function manualExecutionForm(app, config, onRun) {
  const triggers = enabledTriggers(config);
  const triggerSelect = triggers.length ? h('select', { name: 'trigger' },
    h('option', { value: '' }, 'None (manual)'), triggers.map((t, i) => h('option', { value: String(i) }, triggerLabel(t)))) : null;
  const triggerFields = h('div', { class: 'trigger-fields' });
  let typed = [];
  const artifacts = h('textarea', { name: 'artifacts', rows: '3', placeholder: '[{"type": "docker/image", "reference": "..."}]' });
  const chosen = () => (triggerSelect && triggerSelect.value !== '' ? triggers[Number(triggerSelect.value)] : null);
  function showTriggerFields() {
    const t = chosen();
    typed = ((t && FIELDS[String(t.type).toLowerCase()]) || []).map(([name, label]) => ({ name, input: h('input', { type: 'text', name }), label }));
    replace(triggerFields, typed.map(({ input, label }) => h('label', {}, h('span', {}, label), input)),
      t ? h('label', {}, h('span', {}, 'Artifacts (JSON)'), artifacts) : null);
  }
  if (triggerSelect) triggerSelect.addEventListener('change', showTriggerFields);

  const params = (config.parameterConfig || []).map((p) => {
    const options = (p.options || []).map((o) => String(o.value ?? o));
    const value = p.default === undefined || p.default === null ? '' : String(p.default);
    const input = options.length
      ? h('select', { name: p.name, required: Boolean(p.required) }, options.map((o) => h('option', { value: o, selected: o === value }, o)))
      : h('input', { type: 'text', name: p.name, value, required: Boolean(p.required) });
    return { p, input };
  });
  const preview = h('section', { class: 'preview', 'aria-label': 'Preview', 'aria-live': 'polite' });
  const previewButton = h('button', { type: 'button' }, 'Preview');
  const form = h('form', { class: 'card', 'aria-label': `Parameters of ${config.name}`, style: 'margin: 8px 12px' },
    h('h3', {}, `Start Manual Execution: ${config.name}`),
    triggerSelect ? h('label', {}, h('span', {}, 'Trigger'), triggerSelect) : null, triggerFields,
    params.length ? h('h4', {}, 'Select Execution Parameters') : null,
    params.map(({ p, input }) => h('label', {}, h('span', {}, `${p.label || p.name}${p.required ? ' *' : ''}`), input,
      p.description ? h('small', { class: 'muted' }, ` ${p.description}`) : null)),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Run'), previewButton),
    preview);

  function body() {
    let list = [];
    const text = artifacts.value.trim();
    if (chosen() && text) {
      try { list = JSON.parse(text); } catch { throw new Error('Artifacts (JSON) is not valid JSON'); }
      if (!Array.isArray(list)) throw new Error('Artifacts (JSON) must be a list');
    }
    return triggerBody(chosen(), Object.fromEntries(typed.map(({ name, input }) => [name, input.value.trim()])),
      Object.fromEntries(params.map(({ p, input }) => [p.name, input.value])), list);
  }
  previewButton.addEventListener('click', async () => {
    if (!form.reportValidity()) return;
    replace(preview, h('p', { class: 'muted' }, 'Evaluating…'));
    try {
      const path = `/applications/${encodeURIComponent(app)}/pipelineConfigs/${encodeURIComponent(config.id || config.name)}/preview`;
      replace(preview, previewView(await gate(path, { method: 'POST', body: body() })));
    } catch (err) {
      replace(preview, h('p', { class: 'error', role: 'alert' }, err.message));
    }
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    let trigger;
    try { trigger = body(); } catch (err) { replace(preview, h('p', { class: 'error', role: 'alert' }, err.message)); return; }
    onRun(trigger);
  });
  return form;
}
