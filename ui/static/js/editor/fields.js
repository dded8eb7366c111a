// Form fields bound to a plain object (a stage, a trigger, a parameter): each control writes its key on input and
// calls ``onChange``. Every control has a label (its accessible name) and ``data-field``, the JSON path Gate's
// validation errors name (``stages[1].waitTime``), so an error is shown next to its control.

import { h } from '../dom.js';
import { jsonEditor } from './json.js';

const NUMBER = /^-?\d+(\.\d+)?$/;

function options(def) {
  return (def.options || []).map((o) => (Array.isArray(o) ? o : [o, o]));
}

/** The value a text control's ``text`` stands for: a number when it reads as one (expressions stay text). */
export function readValue(kind, text) {
  if (kind === 'number') return NUMBER.test(text.trim()) ? Number(text.trim()) : text.trim();
  if (kind === 'list') return text.split(',').map((s) => s.trim()).filter(Boolean);
  if (kind === 'lines') return text.split('\n').map((s) => s.trim()).filter(Boolean);
  return text;
}

function shown(kind, value) {
  if (value === undefined || value === null) return '';
  if (kind === 'list') return Array.isArray(value) ? value.join(', ') : String(value);
  if (kind === 'lines') return Array.isArray(value) ? value.join('\n') : String(value);
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** One labelled control for ``def`` ({key, label, kind, options, help, expect}) bound to ``target[def.key]``. */
export function field(def, target, path, onChange) {
  const name = `${path ? `${path}.` : ''}${def.key}`;
  const kind = def.kind || 'text';
  const help = def.help ? h('small', { class: 'muted help' }, def.help) : null;
  if (kind === 'json') {
    const editor = jsonEditor({
      value: target[def.key], label: def.label, expect: def.expect || 'object', rows: def.rows || 6, field: name,
      onValid: (value) => { target[def.key] = value; onChange(def.key); },
    });
    return h('div', { class: 'field' }, h('span', { class: 'label', 'aria-hidden': 'true' }, def.label), editor.element, help);
  }
  let control;
  if (kind === 'checkbox') {
    control = h('input', { type: 'checkbox', checked: Boolean(target[def.key]), 'data-field': name });
    control.addEventListener('change', () => {
      if (control.checked) target[def.key] = true; else if (def.keepFalse) target[def.key] = false; else delete target[def.key];
      onChange(def.key);
    });
    return h('div', { class: 'field' }, h('label', { class: 'check' }, control, ` ${def.label}`), help);
  }
  if (kind === 'select') {
    const current = target[def.key] ?? '';
    const choices = options(def);
    if (current !== '' && !choices.some(([v]) => v === current)) choices.push([current, String(current)]);
    control = h('select', { 'data-field': name },
      def.required ? null : h('option', { value: '' }, '(none)'),
      choices.map(([v, text]) => h('option', { value: v, selected: v === current }, text)));
    control.addEventListener('change', () => {
      if (control.value === '') delete target[def.key]; else target[def.key] = control.value;
      onChange(def.key);
    });
  } else {
    control = kind === 'textarea' || kind === 'lines'
      ? h('textarea', { rows: def.rows || 3, 'data-field': name })
      : h('input', { type: 'text', inputmode: kind === 'number' ? 'numeric' : null, 'data-field': name, placeholder: def.placeholder });
    control.value = shown(kind, target[def.key]);
    control.addEventListener('input', () => {
      const value = readValue(kind, control.value);
      if (value === '' || (Array.isArray(value) && !value.length)) delete target[def.key]; else target[def.key] = value;
      onChange(def.key);
    });
  }
  return labelled(def.label, control, help);
}

let ids = 0;

/** A control with its label beside it (``for``: a label wrapping a select would add the chosen option to its name). */
export function labelled(text, control, ...after) {
  if (!control.id) { ids += 1; control.id = `f-${ids}`; }
  return h('div', { class: 'field' }, h('label', { for: control.id, class: 'label' }, text), control, after);
}

/** The fields of ``defs`` for ``target``, in order. */
export function fields(defs, target, path, onChange) {
  return defs.map((def) => field(def, target, path, onChange));
}
