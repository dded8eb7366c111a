// Applications: the list (searchable), and Deck's "Create Application" (name, email, permissions), run as
// Gate's createApplication task.

import { gate } from '../gate.js';
import { h, replace } from '../dom.js';
import { href } from '../router.js';

const NAME = /^[a-zA-Z0-9_-]+$/;
const AUTHORIZATIONS = ['READ', 'WRITE', 'EXECUTE'];

function roles(text) {
  return text.split(',').map((r) => r.trim()).filter(Boolean);
}

function permissionsText(app) {
  const p = app.permissions || {};
  const parts = AUTHORIZATIONS.filter((a) => (p[a] || []).length).map((a) => `${a}: ${p[a].join(', ')}`);
  return parts.length ? parts.join(' · ') : 'open to everyone';
}

function rows(apps, filter) {
  const wanted = filter.trim().toLowerCase();
  return apps
    .filter((a) => !wanted || a.name.toLowerCase().includes(wanted) || String(a.email || '').toLowerCase().includes(wanted))
    .map((a) => h('tr', {},
      h('td', {}, h('a', { href: href('applications', a.name, 'executions') }, a.name)),
      h('td', {}, a.email || ''),
      h('td', {}, permissionsText(a))));
}

async function waitForTask(ref) {
  for (let i = 0; i < 150; i += 1) {
    const task = await gate(ref);
    if (['SUCCEEDED'].includes(task.status)) return task;
    if (['TERMINAL', 'CANCELED', 'STOPPED'].includes(task.status)) {
      const reason = task.execution && task.execution.context && task.execution.context.exception;
      throw new Error(`creating the application ended ${task.status}${reason ? `: ${JSON.stringify(reason)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the createApplication task did not finish in 30 s');
}

function createForm(notify) {
  const error = h('p', { class: 'error', role: 'alert', id: 'create-error' });
  const field = (label, input) => h('label', {}, h('span', {}, label), input);
  const name = h('input', { type: 'text', name: 'name', required: true, autocomplete: 'off' });
  const email = h('input', { type: 'email', name: 'email', required: true });
  const perms = Object.fromEntries(AUTHORIZATIONS.map((a) => [a, h('input', { type: 'text', name: `perm-${a}`, placeholder: 'roles, comma separated' })]));
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create');
  const form = h('form', { class: 'card', 'aria-labelledby': 'create-title', 'aria-describedby': 'create-error' },
    h('h2', { id: 'create-title' }, 'Create Application'),
    field('Name', name), field('Owner email', email),
    ...AUTHORIZATIONS.map((a) => field(`${a} roles`, perms[a])),
    h('p', { class: 'muted' }, 'Roles left empty: no role is needed (an open application).'),
    submit, error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const app = name.value.trim();
    if (!NAME.test(app)) { error.textContent = 'Name: letters, digits, "-" and "_" only'; name.focus(); return; }
    const permissions = Object.fromEntries(AUTHORIZATIONS.map((a) => [a, roles(perms[a].value)]).filter(([, r]) => r.length));
    const application = { name: app, email: email.value.trim(), ...(Object.keys(permissions).length ? { permissions } : {}) };
    submit.disabled = true;
    try {
      const ref = await gate(`/applications/${encodeURIComponent(app)}/tasks`, {
        method: 'POST',
        body: { application: app, description: `Create Application: ${app}`, job: [{ type: 'createApplication', application }] },
      });
      await waitForTask(ref.ref);
      notify(`Application ${app} created`, true);
      location.hash = href('applications', app, 'executions');
    } catch (err) {
      error.textContent = err.message;
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function applicationsPage({ main, query, notify }) {
  const apps = (await gate('/applications')).sort((a, b) => a.name.localeCompare(b.name));
  const search = h('input', { type: 'search', 'aria-label': 'Search applications', placeholder: 'Search applications', value: query.get('q') || '' });
  const body = h('tbody', {}, rows(apps, search.value));
  search.addEventListener('input', () => replace(body, rows(apps, search.value)));
  let form = null;
  const toggle = h('button', { type: 'button', 'aria-expanded': 'false' }, 'Create Application');
  const slot = h('div');
  toggle.addEventListener('click', () => {
    form = form || createForm(notify);
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    replace(slot, open ? form : null);
    if (open) form.querySelector('input').focus();
  });
  replace(main,
    h('h1', {}, 'Applications'),
    h('div', { class: 'toolbar' }, search, toggle, h('span', { class: 'muted' }, `${apps.length} applications`)),
    slot,
    h('table', { class: 'list', 'aria-label': 'Applications' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Owner email'), h('th', { scope: 'col' }, 'Permissions'))),
      body));
  search.focus();
}
