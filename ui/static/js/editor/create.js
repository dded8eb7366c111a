// Deck's "Create New Pipeline": a name, saved at once as an empty pipeline with Deck's defaults, then its editor.

import { gate } from '../gate.js';
import { h } from '../dom.js';
import { href } from '../router.js';

/** The form; on success the browser goes to the new pipeline's editor. */
export function createPipelineForm(app, { index = 0, onCancel } = {}) {
  const name = h('input', { type: 'text', required: true, autocomplete: 'off' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card', 'aria-label': 'Create New Pipeline' },
    h('h3', {}, 'Create New Pipeline'),
    h('label', {}, h('span', {}, 'Pipeline Name'), name), error,
    h('button', { type: 'submit', class: 'primary' }, 'Create'), ' ',
    h('button', { type: 'button', onclick: () => onCancel && onCancel() }, 'Cancel'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      const saved = await gate('/pipelines', { method: 'POST', body: {
        application: app, name: name.value.trim(), index, keepWaitingPipelines: false, limitConcurrent: true,
        spelEvaluator: 'v4', stages: [], triggers: [],
      } });
      location.hash = href('applications', app, 'executions', 'configure', saved.id);
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      name.focus();
    }
  });
  setTimeout(() => name.focus(), 0);
  return form;
}
