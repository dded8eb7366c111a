// The audit trail (GET /audit, admins only while authentication is on): who did what, through which credential,
// on what, and how it ended; newest first, filtered by user, application, action and outcome (kept in the URL).
// A caller who is not an admin gets Gate's 403, shown as "Access denied" with its message.

import { gate } from '../gate.js';
import { h, replace, when } from '../dom.js';
import { href, setQuery } from '../router.js';
import { table } from '../infra.js';

const FILTERS = [['user', 'User'], ['application', 'Application'], ['action', 'Action'], ['executionId', 'Execution id']];
const OUTCOMES = ['', 'success', 'denied', 'rejected', 'failed'];
const LIMITS = ['50', '100', '500', '1000'];

function row(e) {
  const execution = e.executionId && e.application
    ? h('a', { href: href('applications', e.application, 'executions', 'details', e.executionId) }, e.executionId) : (e.executionId || '');
  return [
    when(e.at), e.principal || '', e.via || '', e.action || '',
    [e.resourceType, e.resourceName].filter(Boolean).join(' '), e.application || '', execution,
    h('span', { class: `outcome o-${e.outcome || 'success'}` }, e.outcome || ''), e.status ?? '', e.remoteAddress || '', e.detail || '',
  ];
}

export async function auditPage({ query, main }) {
  const filters = Object.fromEntries([...FILTERS.map(([k]) => k), 'outcome'].map((k) => [k, query.get(k) || '']));
  const limit = LIMITS.includes(query.get('limit')) ? query.get('limit') : '100';
  const events = await gate('/audit', { query: { ...filters, limit } });
  const inputs = FILTERS.map(([key, text]) => h('label', {}, `${text} `, h('input', { type: 'text', name: key, value: filters[key] })));
  const outcome = h('select', { name: 'outcome' }, OUTCOMES.map((o) => h('option', { value: o, selected: o === filters.outcome }, o || 'any outcome')));
  const size = h('select', { name: 'limit' }, LIMITS.map((n) => h('option', { value: n, selected: n === limit }, n)));
  const form = h('form', { class: 'toolbar', role: 'search', 'aria-label': 'Filter the audit trail' },
    inputs, h('label', {}, 'Outcome ', outcome), h('label', {}, 'Show ', size), h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const el of form.querySelectorAll('input, select')) if (el.value) next.set(el.name, el.value);
    if (next.get('limit') === '100') next.delete('limit');
    setQuery(next);
    window.dispatchEvent(new HashChangeEvent('hashchange')); // read again with the filters
  });
  replace(main,
    h('h1', {}, 'Audit trail'),
    h('p', { class: 'muted' }, 'Who did what through Gate, newest first (admins only).'),
    form,
    h('p', { class: 'muted', role: 'status' }, `${events.length} event${events.length === 1 ? '' : 's'}`),
    events.length ? table('Audit events',
      ['When', 'User', 'Via', 'Action', 'Resource', 'Application', 'Execution', 'Outcome', 'Status', 'From', 'Detail'], events.map(row))
      : h('p', { class: 'muted' }, 'No audit events match.'));
}
