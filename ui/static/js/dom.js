// Small DOM helpers: h() builds elements without innerHTML, so text from the API is never parsed as markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'text') el.textContent = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Deck's durations: 42s, 3m 05s, 1h 02m. */
export function duration(ms) {
  if (ms === undefined || ms === null || ms < 0 || Number.isNaN(ms)) return '';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** How long something ran: to its end, or until now while it runs. */
export function elapsed(item, now = Date.now()) {
  if (!item || !item.startTime) return undefined;
  return (item.endTime || now) - item.startTime;
}

// one formatter for the page: toLocaleString() builds a new one per call, a cost that shows at 500 rows
const WHEN = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function when(ms) {
  return ms ? WHEN.format(new Date(ms)) : '';
}

export function statusBadge(status) {
  const s = status || 'NOT_STARTED';
  return h('span', { class: `status s-${s}`, text: s.replace('_', ' ') });
}

/** A button that is disabled with its reason spoken and shown, when ``reason`` is set. */
export function actionButton(label, onclick, reason, cls = '') {
  const id = `why-${Math.random().toString(36).slice(2)}`;
  const button = h('button', { type: 'button', class: cls, onclick, disabled: Boolean(reason), 'aria-describedby': reason ? id : null }, label);
  return reason ? h('span', {}, button, h('span', { class: 'why', id, text: reason })) : button;
}
