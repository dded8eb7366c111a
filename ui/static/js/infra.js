// Shared by the infrastructure pages: the application's tabs (Deck's application nav), Gate's cached reads with
// their freshness headers, instance health as Deck colours it, and small definition lists.

import { gateUrl, GateError } from './gate.js';
import { h, duration, when } from './dom.js';
import { href } from './router.js';

/** Deck's application nav: [label, route segment] (Pipelines opens the executions). */
export const TABS = [
  ['Pipelines', 'executions'],
  ['Clusters', 'clusters'],
  ['Load Balancers', 'loadBalancers'],
  ['Firewalls', 'firewalls'],
  ['Bakes', 'bakes'],
  ['Canary', 'canary'],
];

/** The application's tabs; ``current`` is the route segment of the page shown (marked aria-current). */
export function appNav(app, current, ...extra) {
  return h('nav', { class: 'toolbar app-tabs', 'aria-label': 'Application' },
    TABS.map(([label, segment]) => h('a', { href: href('applications', app, segment), 'aria-current': segment === current ? 'page' : null }, label)),
    extra);
}

/** The application's heading and tabs. */
export function appHeader(app, title, current, ...extra) {
  return [h('h1', {}, app, ' ', h('span', { class: 'muted' }, title)), appNav(app, current, ...extra)];
}

/**
 * A cached read: ``{data, refreshedAt, ageSeconds, error}`` from Gate's answer and its
 * ``X-Gennaker-Cache-*`` headers (``refreshedAt`` null when the cache was never refreshed).
 */
export async function cachedRead(path, query) {
  let url = gateUrl(path);
  const params = new URLSearchParams(Object.entries(query || {}).filter(([, v]) => v !== undefined && v !== null && v !== ''));
  if (params.toString()) url += `?${params}`;
  const answer = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  const text = await answer.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!answer.ok) {
    const message = (data && (data.message || data.error)) || answer.statusText || 'request failed';
    throw new GateError(answer.status, `${answer.status}: ${message}`);
  }
  const stamp = answer.headers.get('X-Gennaker-Cache-Refreshed-At');
  const age = answer.headers.get('X-Gennaker-Cache-Age-Seconds');
  return {
    data,
    refreshedAt: stamp && stamp !== 'never' ? Number(stamp) : null,
    ageSeconds: age === null ? null : Number(age),
    error: answer.headers.get('X-Gennaker-Cache-Error') || '',
  };
}

/** "Cache refreshed 12s ago (…)", "never refreshed", and the accounts whose last refresh failed. */
export function freshness(read) {
  const text = read.refreshedAt === null
    ? 'Cache never refreshed: nothing has been read from the cloud yet'
    : `Cache refreshed ${duration((read.ageSeconds || 0) * 1000) || '0s'} ago (${when(read.refreshedAt)})`;
  return h('p', { class: 'freshness muted', role: 'status' }, text,
    read.error ? h('span', { class: 'error' }, ` · last refresh failed: ${read.error}`) : null);
}

/** Spinnaker's health states as Deck counts them, in the order Deck lists them. */
export const HEALTH = ['Up', 'Down', 'Starting', 'OutOfService', 'Unknown'];

export function healthOf(instance) {
  const state = instance && instance.healthState;
  return HEALTH.includes(state) ? state : 'Unknown';
}

/** ``{Up: 2, Down: 1, ...}`` over a server group's instances (every state present, 0 when none). */
export function healthCounts(instances) {
  const counts = Object.fromEntries(HEALTH.map((s) => [s, 0]));
  for (const instance of instances || []) counts[healthOf(instance)] += 1;
  return counts;
}

/** One square per instance, coloured by health, named for screen readers ("i-0abc: Up"); with ``linkOf(instance)``
 * each square is a link to that URL (Deck's instance details). */
export function instanceSquares(instances, linkOf) {
  return h('span', { class: 'instances' },
    (instances || []).map((i) => {
      const square = h('span', {
        class: `inst h-${healthOf(i)}`, role: 'img', title: `${i.id || i.name}: ${healthOf(i)}`, 'aria-label': `${i.id || i.name}: ${healthOf(i)}`,
        'data-health': healthOf(i),
      });
      return linkOf ? h('a', { class: 'inst-link', href: linkOf(i), 'aria-label': `Instance ${i.id || i.name} details` }, square) : square;
    }));
}

export function healthSummary(instances) {
  const counts = healthCounts(instances);
  const parts = HEALTH.filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`);
  return parts.length ? parts.join(' · ') : 'no instances';
}

/** A definition list of [term, value] pairs; empty values are left out. */
export function facts(pairs, label) {
  const shown = pairs.filter(([, v]) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && !v.length));
  return h('dl', { class: 'facts', 'aria-label': label || null },
    shown.map(([k, v]) => [h('dt', {}, k), h('dd', {}, Array.isArray(v) ? v.join(', ') : v)]));
}

export function json(value, label) {
  return h('pre', { class: 'json', tabindex: '0', 'aria-label': label || null }, JSON.stringify(value, null, 2));
}

/** A table with a caption-like accessible name, header cells and rows of cells (strings or nodes). */
export function table(label, headers, rows) {
  return h('table', { class: 'list', 'aria-label': label },
    h('thead', {}, h('tr', {}, headers.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c))))));
}

/** A search box filtering what ``render(text)`` shows. */
export function searchBox(label, value, onInput) {
  const box = h('input', { type: 'search', 'aria-label': label, placeholder: label, value: value || '' });
  box.addEventListener('input', () => onInput(box.value.trim().toLowerCase()));
  return box;
}

/** Deck's details URL of a load balancer or firewall: ``#/applications/{app}/{tab}/{kind}/{provider}/{account}/
 * {region}[/{vpcId}]/{name}``. */
export function detailsUrl(app, tab, kind, item) {
  const parts = ['applications', app, tab, kind, item.cloudProvider || item.type || 'aws', item.account || item.accountName || '', item.region || ''];
  if (item.vpcId) parts.push(item.vpcId);
  return href(...parts, item.name);
}

/** The item a details URL names (``params``: app, provider, account, region, [vpcId,] name), or undefined. */
export function namedItem(items, params) {
  if (params.length < 5) return undefined;
  const [, provider, account, region] = params;
  const name = params[params.length - 1];
  const vpcId = params.length > 5 ? params[4] : null;
  return items.find((i) => i.name === name && (i.account || i.accountName) === account && (i.region || '') === region
    && (i.cloudProvider || i.type || 'aws') === provider && (!vpcId || i.vpcId === vpcId));
}

/** A <details> item whose opening puts Deck's details URL in the address bar (closing: the tab's), without
 * re-rendering; ``open`` opens it now and scrolls to it. */
export function linkDetails(el, url, base, open) {
  el.addEventListener('toggle', () => {
    if (el.open) history.replaceState(null, '', url);
    else if (location.hash === url) history.replaceState(null, '', base);
  });
  if (open) { el.open = true; requestAnimationFrame(() => el.scrollIntoView({ block: 'nearest' })); }
  return el;
}
