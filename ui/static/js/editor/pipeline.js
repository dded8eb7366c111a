// The pipeline's own configuration, Deck's "Configuration" stage: Execution Options (limitConcurrent,
// keepWaitingPipelines, maxConcurrentExecutions), Automated Triggers, Parameters, Notifications and the
// description. Each section edits ``config`` in place and calls ``changed()``; adding or removing an item calls
// ``rerender()``.

import { h } from '../dom.js';
import { field, fields } from './fields.js';
import { jsonEditor } from './json.js';

export const TRIGGER_TYPES = ['cron', 'git', 'jenkins', 'pipeline', 'webhook', 'docker', 'artifactory', 'concourse',
  'helm', 'nexus', 'pubsub', 'travis', 'wercker', 'plugin'];

/** Each trigger type's own fields; the others have only their JSON. */
export const TRIGGER_FORMS = {
  cron: [{ key: 'cronExpression', label: 'Cron expression', help: 'Quartz: seconds minutes hours day-of-month month day-of-week [year]' }],
  git: [
    { key: 'source', label: 'Repo type', kind: 'select', options: ['github', 'gitlab', 'bitbucket', 'stash'] },
    { key: 'project', label: 'Organization or user' },
    { key: 'slug', label: 'Project' },
    { key: 'branch', label: 'Branch', help: 'a name or a regular expression' },
    { key: 'secret', label: 'Secret' },
  ],
  jenkins: [
    { key: 'master', label: 'Controller' },
    { key: 'job', label: 'Job' },
    { key: 'propertyFile', label: 'Property file' },
  ],
  pipeline: [
    { key: 'application', label: 'Application' },
    { key: 'pipeline', label: 'Pipeline', help: 'the pipeline config id' },
    { key: 'status', label: 'Pipeline status', kind: 'list', help: 'successful, failed, canceled' },
  ],
  webhook: [
    { key: 'source', label: 'Source', help: 'POST /webhooks/webhook/{source}' },
    { key: 'payloadConstraints', label: 'Payload constraints', kind: 'json' },
  ],
};

export const NOTIFICATION_TYPES = ['email', 'slack', 'googlechat', 'microsoftteams', 'sms', 'pubsub', 'githubStatus', 'cdevents'];
const WHEN = ['pipeline.starting', 'pipeline.complete', 'pipeline.failed'];

function item(label, index, onRemove, ...children) {
  return h('fieldset', { class: 'item', 'aria-label': `${label} ${index + 1}` },
    h('legend', {}, `${label} ${index + 1}`), children,
    h('button', { type: 'button', class: 'danger', onclick: onRemove, 'aria-label': `Remove ${label.toLowerCase()} ${index + 1}` }, 'Remove'));
}

function options(config, changed) {
  const limit = field({ key: 'limitConcurrent', label: 'Disable concurrent pipeline executions (only run one at a time).', kind: 'checkbox', keepFalse: true },
    config, '', () => { if (config.limitConcurrent && config.keepWaitingPipelines === undefined) config.keepWaitingPipelines = true; changed(); sync(); });
  const keep = field({ key: 'keepWaitingPipelines', label: 'Do not automatically cancel pipelines waiting in queue.', kind: 'checkbox', keepFalse: true },
    config, '', changed);
  const max = field({ key: 'maxConcurrentExecutions', label: 'Maximum number of pipeline executions', kind: 'number', help: '0: no limit' },
    config, '', changed);
  function sync() { keep.hidden = !config.limitConcurrent; max.hidden = Boolean(config.limitConcurrent); }
  sync();
  return h('section', { class: 'card', 'aria-labelledby': 'options-title' }, h('h3', { id: 'options-title' }, 'Execution Options'), limit, keep, max);
}

function triggers(config, changed, rerender) {
  config.triggers = config.triggers || [];
  const list = config.triggers.map((trigger, i) => {
    const path = `triggers[${i}]`;
    const type = field({ key: 'type', label: 'Type', kind: 'select', options: TRIGGER_TYPES, required: true }, trigger, path, () => { changed(); rerender(); });
    const enabled = field({ key: 'enabled', label: 'Trigger Enabled', kind: 'checkbox', keepFalse: true }, trigger, path, changed);
    const own = fields([...(TRIGGER_FORMS[trigger.type] || []), { key: 'runAsUser', label: 'Run as user' }], trigger, path, changed);
    const json = jsonEditor({
      value: trigger, label: `Trigger ${i + 1} as JSON`, rows: 6,
      onValid: (value) => { for (const k of Object.keys(trigger)) delete trigger[k]; Object.assign(trigger, value); changed(); },
    });
    return item('Trigger', i, () => { config.triggers.splice(i, 1); changed(); rerender(); },
      type, enabled, own, h('details', { ontoggle: () => json.set(trigger) }, h('summary', {}, 'Edit trigger as JSON'), json.element));
  });
  const add = h('button', { type: 'button', onclick: () => { config.triggers.push({ type: 'webhook', enabled: true }); changed(); rerender(); } }, 'Add Trigger');
  return h('section', { class: 'card', 'aria-labelledby': 'triggers-title' }, h('h3', { id: 'triggers-title' }, 'Automated Triggers'),
    list.length ? list : h('p', { class: 'muted' }, 'No triggers.'), add);
}

function parameters(config, changed, rerender) {
  config.parameterConfig = config.parameterConfig || [];
  const list = config.parameterConfig.map((p, i) => {
    const path = `parameterConfig[${i}]`;
    const opts = { values: (p.options || []).map((o) => String(o.value ?? o)) };
    const optionsField = field({ key: 'values', label: 'Options', kind: 'lines', help: 'one per line; empty: any value' }, opts, path, () => {
      if (opts.values && opts.values.length) { p.options = opts.values.map((value) => ({ value })); p.hasOptions = true; } else { delete p.options; delete p.hasOptions; }
      changed();
    });
    optionsField.querySelector('textarea').dataset.field = `${path}.options`;
    return item('Parameter', i, () => { config.parameterConfig.splice(i, 1); changed(); rerender(); },
      fields([
        { key: 'name', label: 'Name' }, { key: 'label', label: 'Label' },
        { key: 'required', label: 'Required', kind: 'checkbox', keepFalse: true },
        { key: 'default', label: 'Default Value' }, { key: 'description', label: 'Description', kind: 'textarea', rows: 2 },
      ], p, path, changed), optionsField);
  });
  const add = h('button', { type: 'button', onclick: () => { config.parameterConfig.push({ name: '', required: false }); changed(); rerender(); } }, 'Add Parameter');
  return h('section', { class: 'card', 'aria-labelledby': 'parameters-title' }, h('h3', { id: 'parameters-title' }, 'Parameters'),
    list.length ? list : h('p', { class: 'muted' }, 'No parameters.'), add);
}

function notifications(config, changed, rerender) {
  config.notifications = config.notifications || [];
  const list = config.notifications.map((n, i) => {
    const path = `notifications[${i}]`;
    n.when = n.when || [];
    const boxes = WHEN.map((w) => {
      const box = h('input', { type: 'checkbox', checked: n.when.includes(w), 'data-field': `${path}.when` });
      box.addEventListener('change', () => { n.when = box.checked ? [...new Set([...n.when, w])] : n.when.filter((x) => x !== w); changed(); });
      return h('label', { class: 'check' }, box, ` ${w.replace('pipeline.', 'pipeline ')}`);
    });
    const message = jsonEditor({ value: n.message || {}, label: `Notification ${i + 1} messages as JSON`, rows: 4,
      onValid: (value) => { if (Object.keys(value).length) n.message = value; else delete n.message; changed(); } });
    return item('Notification', i, () => { config.notifications.splice(i, 1); changed(); rerender(); },
      fields([{ key: 'type', label: 'Notify via', kind: 'select', options: NOTIFICATION_TYPES, required: true }, { key: 'address', label: 'Address' }], n, path, changed),
      h('fieldset', { class: 'inline' }, h('legend', {}, 'Notify when'), boxes),
      h('details', {}, h('summary', {}, 'Custom messages (JSON)'), message.element));
  });
  const add = h('button', { type: 'button', onclick: () => { config.notifications.push({ type: 'email', address: '', level: 'pipeline', when: ['pipeline.failed'] }); changed(); rerender(); } },
    'Add Notification Preference');
  return h('section', { class: 'card', 'aria-labelledby': 'notifications-title' }, h('h3', { id: 'notifications-title' }, 'Notifications'),
    list.length ? list : h('p', { class: 'muted' }, 'No notifications.'), add);
}

/** Deck's Configuration panel for the pipeline itself. */
export function pipelinePanel(config, changed, rerender) {
  return [
    options(config, changed),
    triggers(config, changed, rerender),
    parameters(config, changed, rerender),
    notifications(config, changed, rerender),
    h('section', { class: 'card', 'aria-labelledby': 'description-title' }, h('h3', { id: 'description-title' }, 'Description'),
      field({ key: 'description', label: 'Description', kind: 'textarea', rows: 3 }, config, '', changed)),
  ];
}
