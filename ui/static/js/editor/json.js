// A JSON editor: a textarea whose text is parsed as it is typed; a parse error (or the wrong kind of value) is
// shown under it (role=alert, the textarea aria-invalid), and each valid value goes to ``onValid``.

import { h } from '../dom.js';

let count = 0;

/** What is wrong with ``text`` as a value of ``expect`` ('object', 'array' or 'any'), or '' when nothing is. */
export function jsonProblem(text, expect = 'object') {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `Invalid JSON: ${err.message}`;
  }
  if (expect === 'object' && (value === null || typeof value !== 'object' || Array.isArray(value))) return 'Must be a JSON object ({...})';
  if (expect === 'array' && !Array.isArray(value)) return 'Must be a JSON list ([...])';
  return '';
}

/** ``{element, textarea, set(value)}``: ``set`` shows a value changed elsewhere (not while the textarea has focus). */
export function jsonEditor({ value, label, onValid, expect = 'object', rows = 12, field = null }) {
  count += 1;
  const errorId = `json-error-${count}`;
  const textarea = h('textarea', { class: 'json-edit', rows, spellcheck: 'false', 'aria-label': label, 'data-field': field });
  textarea.value = JSON.stringify(value ?? (expect === 'array' ? [] : {}), null, 2);
  const error = h('p', { class: 'error', id: errorId, role: 'alert', hidden: true });
  textarea.addEventListener('input', () => {
    const problem = jsonProblem(textarea.value, expect);
    error.textContent = problem;
    error.hidden = !problem;
    if (problem) {
      textarea.setAttribute('aria-invalid', 'true');
      textarea.setAttribute('aria-describedby', errorId);
      return;
    }
    textarea.removeAttribute('aria-invalid');
    textarea.removeAttribute('aria-describedby');
    onValid(JSON.parse(textarea.value));
  });
  const set = (next) => {
    if (document.activeElement === textarea) return;
    textarea.value = JSON.stringify(next ?? (expect === 'array' ? [] : {}), null, 2);
    error.hidden = true;
    textarea.removeAttribute('aria-invalid');
  };
  return { element: h('div', { class: 'json-editor' }, textarea, error), textarea, set };
}
