// Boot and route: read the UI's config and the caller, then render the page the hash names on every change.

import { loadConfig } from './gate.js';
import { replace, h } from './dom.js';
import { parse } from './router.js';
import { loadUser, user } from './permissions.js';
import { renderAccount } from './signin.js';
import { applicationsPage } from './pages/applications.js';
import { executionsPage } from './pages/executions.js';
import { detailsPage } from './pages/details.js';
import { notYetPage } from './pages/not_yet.js';
import { configurePage } from './pages/configure.js';
import { clustersPage } from './pages/clusters.js';
import { loadBalancersPage } from './pages/load_balancers.js';
import { firewallsPage } from './pages/firewalls.js';
import { bakesPage } from './pages/bakes.js';
import { canaryPage } from './pages/canary.js';
import { auditPage } from './pages/audit.js';

const PAGES = {
  applications: applicationsPage,
  application: (ctx) => { location.replace(`#/applications/${encodeURIComponent(ctx.params[0])}/executions`); },
  executions: executionsPage,
  executionDetails: detailsPage,
  configure: configurePage,
  clusters: clustersPage,
  serverGroupDetails: clustersPage,
  instanceDetails: clustersPage,
  loadBalancers: loadBalancersPage,
  loadBalancerDetails: loadBalancersPage,
  firewalls: firewallsPage,
  firewallDetails: firewallsPage,
  bakes: bakesPage,
  canary: canaryPage,
  audit: auditPage,
  notFound: notYetPage,
};

let leave = null;
let beforeLeave = null;
let shownPath = null;
let shownHash = null;
// each route() is one generation: a page that finishes loading after a later route began is stale (its view is
// already out of the document, and it is stopped at once), so a slow page never covers the one asked for after it
let generation = 0;

export function notify(message, ok = false) {
  const box = document.getElementById('notice');
  box.textContent = message;
  box.classList.toggle('ok', ok);
  box.hidden = !message;
}

async function route() {
  const [path] = location.hash.split('?');
  const ctx = parse(location.hash);
  if (path === shownPath && ctx.page === 'executionDetails') return; // a stage change: the page follows it itself
  // a page with something to lose (the editor's unsaved changes) is asked first; staying puts its URL back
  const warning = path !== shownPath && beforeLeave ? beforeLeave() : '';
  if (warning && !window.confirm(warning)) {
    history.replaceState(null, '', shownHash);
    return;
  }
  shownPath = path;
  shownHash = location.hash;
  if (leave) { leave(); leave = null; }
  beforeLeave = null;
  notify('');
  const mine = ++generation;
  // the page renders into a view of its own inside <main>: a stale page renders into a detached one
  const view = h('div', { class: 'view' }, h('p', { class: 'muted' }, 'Loading…'));
  replace(document.getElementById('main'), view);
  try {
    // a page returns what stops it (a function), or ``{leave, beforeLeave}``: beforeLeave() answers a question to
    // ask before a route change takes the page away ('' to go at once)
    const started = (await PAGES[ctx.page]({ ...ctx, main: view, notify })) || null;
    const stop = typeof started === 'function' ? started : (started && started.leave) || null;
    if (mine !== generation) {
      if (stop) stop();
      return;
    }
    leave = stop;
    beforeLeave = (started && typeof started === 'object' && started.beforeLeave) || null;
  } catch (err) {
    if (mine !== generation) return;
    replace(view, h('h1', {}, err.status === 403 ? 'Access denied' : 'Something went wrong'),
      h('p', { class: 'error', role: 'alert' }, err.message));
  }
}

async function boot() {
  await loadConfig();
  try {
    await loadUser();
    const me = user();
    document.getElementById('who').textContent = me.authenticated ? `Signed in as ${me.username}` : `${me.username}`;
    renderAccount(me, notify);
    // the audit trail is for admins (everyone while authentication is off): its link shows only to them
    if (me.admin || !me.authenticated) document.querySelector('header.top nav').append(h('a', { href: '#/audit' }, 'Audit'));
  } catch (err) {
    notify(`Could not read who you are: ${err.message}`);
    renderAccount(null, notify, err); // an expired or revoked session: Sign in again, or Sign out
  }
  window.addEventListener('hashchange', route);
  await route();
  document.body.dataset.ready = 'true';
}

boot();
