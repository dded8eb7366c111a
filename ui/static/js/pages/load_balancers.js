// Load Balancers (Deck's "Load Balancers" tab): the application's load balancers from Gate's cached read, by
// account and region; each opens to its details: listeners, target groups with their health checks, the classic
// health check, and the server groups behind it with their instances' health.

import { h, replace, when } from '../dom.js';
import { href } from '../router.js';
import {
  appHeader, cachedRead, freshness, facts, instanceSquares, healthSummary, table, searchBox, detailsUrl, namedItem, linkDetails,
} from '../infra.js';

function port(protocol, number) {
  return [protocol, number].filter((v) => v !== undefined && v !== null && v !== '').join(':');
}

/** A listener as Deck writes it: "HTTP:80 → HTTP:7001" (classic), "HTTPS:443 → forward to tg" (ELBv2). */
export function listenerText(listener) {
  if (listener.externalPort !== undefined || listener.externalProtocol) {
    return `${port(listener.externalProtocol, listener.externalPort)} → ${port(listener.internalProtocol, listener.internalPort)}`;
  }
  if (listener.portRange !== undefined && listener.port === undefined) return `${listener.protocol || 'any'} ${listener.portRange || 'all ports'}`;
  const actions = (listener.defaultActions || []).map((a) => (a.targetGroupName ? `${a.type || 'forward'} to ${a.targetGroupName}` : a.type)).filter(Boolean);
  return `${port(listener.protocol, listener.port)}${actions.length ? ` → ${actions.join(', ')}` : ''}`;
}

function healthCheckText(tg) {
  const where = port(tg.healthCheckProtocol, tg.healthCheckPort) + (tg.healthCheckPath || '');
  const every = tg.healthCheckIntervalSeconds ? `every ${tg.healthCheckIntervalSeconds}s` : '';
  const thresholds = tg.healthyThresholdCount ? `healthy after ${tg.healthyThresholdCount}, unhealthy after ${tg.unhealthyThresholdCount}` : '';
  return [where, every, thresholds].filter(Boolean).join(', ');
}

function serverGroupsBehind(label, groups) {
  if (!(groups || []).length) return h('p', { class: 'muted' }, 'No server groups.');
  return h('ul', { class: 'behind', 'aria-label': label }, groups.map((g) => h('li', {},
    h('span', {}, g.name), g.isDisabled ? h('span', { class: 'status s-CANCELED' }, 'Disabled') : null,
    g.region ? h('span', { class: 'muted' }, ` ${g.region}`) : null,
    g.instances ? [instanceSquares(g.instances), h('span', { class: 'muted' }, healthSummary(g.instances))] : null)));
}

function details(lb) {
  const classic = lb.healthCheck || {};
  const targetGroups = lb.targetGroups || [];
  return h('div', { class: 'lb-details' },
    facts([
      ['Type', lb.loadBalancerType || lb.type],
      ['Account', lb.account],
      ['Region', lb.region],
      ['DNS name', lb.dnsname],
      ['Scheme', lb.scheme],
      ['VPC', lb.vpcId],
      ['Created', lb.createdTime ? when(lb.createdTime) : ''],
      ['Zones', lb.availabilityZones],
      ['Subnets', lb.subnets],
      ['Firewalls', lb.securityGroups],
      ['Health checks', lb.healthChecks],
    ], `Load balancer ${lb.name}`),
    h('h3', {}, 'Listeners'),
    (lb.listeners || []).length ? h('ul', { 'aria-label': `Listeners of ${lb.name}` }, lb.listeners.map((l) => h('li', {}, listenerText(l))))
      : h('p', { class: 'muted' }, 'None.'),
    classic.target ? [h('h3', {}, 'Health Check'), facts([
      ['Target', classic.target], ['Interval', classic.interval && `${classic.interval}s`], ['Timeout', classic.timeout && `${classic.timeout}s`],
      ['Healthy threshold', String(classic.healthyThreshold ?? '')], ['Unhealthy threshold', String(classic.unhealthyThreshold ?? '')],
    ], `Health check of ${lb.name}`)] : null,
    targetGroups.length ? [h('h3', {}, 'Target Groups'), table(`Target groups of ${lb.name}`, ['Name', 'Protocol', 'Health check', 'Server groups'],
      targetGroups.map((tg) => [tg.name || tg.targetGroupName, port(tg.protocol, tg.port), healthCheckText(tg),
        serverGroupsBehind(`Server groups in ${tg.name}`, tg.serverGroups)]))] : null,
    h('h3', {}, 'Server Groups'), serverGroupsBehind(`Server groups behind ${lb.name}`, lb.serverGroups));
}

function card(app, lb, open) {
  const groups = lb.serverGroups || [];
  const instances = groups.flatMap((g) => g.instances || []);
  const url = detailsUrl(app, 'loadBalancers', 'loadBalancerDetails', lb);
  return linkDetails(h('details', { class: 'item', 'data-name': lb.name },
    h('summary', {}, h('strong', {}, lb.name), h('span', { class: 'muted' }, ` ${lb.loadBalancerType || lb.type || ''} · ${lb.region || ''}`),
      h('span', { class: 'muted' }, ` · ${groups.length} server group${groups.length === 1 ? '' : 's'}`),
      instances.length ? [' ', instanceSquares(instances)] : null),
    details(lb)), url, href('applications', app, 'loadBalancers'), open);
}

export function byAccountAndRegion(items) {
  const out = new Map();
  for (const item of items) {
    const key = `${item.account || ''}\u0000${item.region || ''}`;
    if (!out.has(key)) out.set(key, { account: item.account || '', region: item.region || '', items: [] });
    out.get(key).items.push(item);
  }
  return [...out.values()].sort((a, b) => a.account.localeCompare(b.account) || a.region.localeCompare(b.region));
}

export async function loadBalancersPage({ params, main }) {
  const app = params[0];
  const read = await cachedRead(`/applications/${encodeURIComponent(app)}/loadBalancers`);
  const items = (read.data || []).sort((a, b) => a.name.localeCompare(b.name));
  const list = h('div', { id: 'load-balancers' });
  const named = namedItem(items, params);
  let filter = '';
  function render() {
    const shown = items.filter((lb) => !filter || [lb.name, lb.region, lb.account, lb.dnsname].some((v) => String(v || '').toLowerCase().includes(filter)));
    replace(list, shown.length ? byAccountAndRegion(shown).map((g) => h('section', { class: 'group', 'aria-label': `${g.account} ${g.region}` },
      h('header', {}, h('h2', {}, h('span', { class: 'account-tag' }, g.account), ` ${g.region}`)),
      g.items.map((lb) => card(app, lb, lb === named))))
      : h('p', { class: 'muted' }, items.length ? 'No load balancers match.' : 'No load balancers in the cache for this application.'));
  }
  replace(main, ...appHeader(app, 'Load Balancers', 'loadBalancers'),
    h('div', { class: 'toolbar', role: 'search' }, searchBox('Filter load balancers', '', (t) => { filter = t; render(); }), freshness(read)),
    list,
    params.length >= 5 && !named ? h('p', { class: 'error', role: 'alert' }, `Load balancer ${params[params.length - 1]} is not in the cache`) : null);
  render();
}
