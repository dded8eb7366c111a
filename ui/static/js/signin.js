// Who you are and what you may do, Sign in and Sign out (docs/ui.md, "Sign in"). The UI server runs OpenID
// Connect's code flow (auth/signin) or takes a pasted token (auth/token), and keeps the token in an HttpOnly
// session cookie that its /gate proxy sends to Gate as a bearer credential: scripts here never hold it.

import { uiConfig, GateError } from './gate.js';
import { h, replace } from './dom.js';
import { grants } from './permissions.js';

async function post(path, body) {
  const answer = await fetch(path, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!answer.ok) {
    let message = answer.statusText;
    try { message = (await answer.json()).message || message; } catch { /* not JSON */ }
    throw new GateError(answer.status, `${answer.status}: ${message}`);
  }
  return answer;
}

function signInPanel(notify) {
  const config = uiConfig();
  const next = encodeURIComponent(location.hash || '#/applications');
  const issuers = (config.auth && config.auth.oidc) || [];
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'off', 'aria-label': 'API token' });
  const form = h('form', { class: 'signin-token', 'aria-label': 'Sign in with a token' }, token,
    h('button', { type: 'submit' }, 'Use token'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await post('auth/token', { token: token.value });
      location.reload();
    } catch (err) {
      notify(`Could not sign in: ${err.message}`);
    }
  });
  return h('div', { class: 'account-panel', role: 'group', 'aria-label': 'Sign in' },
    issuers.map((i) => h('a', { class: 'button', href: `auth/signin?issuer=${i.index}&next=${next}` },
      `Sign in with ${new URL(i.issuer).host}`)),
    form);
}

function permissionsPanel(me) {
  const apps = grants();
  return h('div', { class: 'account-panel', role: 'group', 'aria-label': 'What you may do' },
    h('p', {}, me.admin ? 'Administrator: everything.' : `Roles: ${(me.roles || []).join(', ') || 'none'}`),
    apps === null ? h('p', { class: 'muted' }, 'Fiat did not answer: each action is decided by the API.')
      : h('table', { class: 'list', 'aria-label': 'Permissions by application' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Application'), h('th', { scope: 'col' }, 'May'))),
        h('tbody', {}, apps.map((a) => h('tr', {}, h('td', {}, a.name), h('td', {}, a.authorizations.join(', ') || 'nothing'))))));
}

function disclosure(label, content, open = false) {
  const id = `panel-${label.toLowerCase().replace(/\W+/g, '-')}`;
  content.id = id;
  content.hidden = !open;
  const button = h('button', { type: 'button', 'aria-expanded': String(open), 'aria-controls': id }, label);
  button.addEventListener('click', () => {
    content.hidden = !content.hidden;
    button.setAttribute('aria-expanded', String(!content.hidden));
  });
  return h('span', { class: 'disclosure' }, button, content);
}

/** The account area next to "Signed in as …": permissions, Sign in (auth on, not signed in), Sign out (a session). */
export function renderAccount(me, notify, failure = null) {
  const config = uiConfig();
  let area = document.getElementById('account');
  if (!area) {
    area = h('span', { id: 'account', class: 'account' });
    document.getElementById('who').after(area);
  }
  const parts = [];
  const signedOut = !me || !me.authenticated;
  if (me) parts.push(disclosure('Permissions', permissionsPanel(me)));
  if (config.auth && config.auth.enabled && (signedOut || failure)) parts.push(disclosure('Sign in', signInPanel(notify), Boolean(failure)));
  if (config.session) {
    parts.push(h('button', { type: 'button', onclick: async () => {
      try { await post('auth/signout'); } finally { location.reload(); }
    } }, 'Sign out'));
  }
  replace(area, parts);
}
