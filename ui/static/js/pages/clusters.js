// Clusters (Deck's "Clusters" tab): the application's server groups from Gate's cached reads, grouped by account
// and cluster; each server group with its region, capacity, instances coloured by health, image, launch time and
// disabled state; a server group's details panel (Deck's URL .../clusters/serverGroupDetails/{provider}/{account}/
// {region}/{name}); the cache's freshness. Kubernetes server groups are shown as the reads return them, with
// their manifest's status read live (GET /manifests/{account}/{namespace}/{kind name}).

import { gate } from '../gate.js';
import { h, replace, when } from '../dom.js';
import { href } from '../router.js';
import {
  appHeader, cachedRead, freshness, facts, healthSummary, instanceSquares, healthCounts, json, table, searchBox, HEALTH,
} from '../infra.js';
import { serverGroupActions } from './server_group_actions.js';
import { findInstance, instanceHref, instancePanel } from './instance.js';

function providerOf(group) {
  return group.cloudProvider || group.type || 'aws';
}

function imageOf(group) {
  const image = group.image || {};
  const launch = (group.launchConfig && group.launchConfig.launchTemplateData) || {};
  return image.name || image.imageName || image.imageId || launch.imageId
    || (group.buildInfo && group.buildInfo.docker && group.buildInfo.docker.image) || '';
}

function capacityText(group) {
  const c = group.capacity || {};
  return `${c.min ?? '?'} / ${c.desired ?? '?'} / ${c.max ?? '?'}`;
}

/** Deck's server group key: the details URL for this group. */
export function detailsHref(app, group) {
  return href('applications', app, 'clusters', 'serverGroupDetails', providerOf(group), group.account, group.region, group.name);
}

/** ``[[account, [[cluster, [server groups newest first]]]]]``: accounts and clusters sorted by name. */
export function groupByCluster(groups, clusters = {}) {
  const accounts = new Map();
  for (const [account, names] of Object.entries(clusters || {})) {
    const byCluster = accounts.get(account) || new Map();
    for (const name of names) if (!byCluster.has(name)) byCluster.set(name, []);
    accounts.set(account, byCluster);
  }
  for (const group of groups) {
    const byCluster = accounts.get(group.account) || new Map();
    const name = group.cluster || (group.moniker && group.moniker.cluster) || group.name;
    if (!byCluster.has(name)) byCluster.set(name, []);
    byCluster.get(name).push(group);
    accounts.set(group.account, byCluster);
  }
  return [...accounts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([account, byCluster]) => [
    account,
    [...byCluster.entries()].sort(([a], [b]) => a.localeCompare(b))
      .map(([cluster, list]) => [cluster, list.sort((a, b) => (b.createdTime || 0) - (a.createdTime || 0) || b.name.localeCompare(a.name))]),
  ]);
}

function serverGroupRow(app, group, select, selected) {
  const disabled = Boolean(group.isDisabled);
  const label = `Server group ${group.name} in ${group.region}${disabled ? ' (disabled)' : ''}`;
  return h('div', {
    class: `server-group${disabled ? ' disabled' : ''}${selected ? ' selected' : ''}`, role: 'listitem',
    'data-name': group.name, 'data-region': group.region, 'data-disabled': String(disabled),
  },
  h('div', { class: 'sg-line' },
    h('a', { href: detailsHref(app, group), 'aria-label': label, 'aria-current': selected ? 'true' : null,
      onclick: (event) => { event.preventDefault(); select(group); } }, group.name),
    h('span', { class: 'region' }, group.region),
    h('span', { class: 'provider muted' }, providerOf(group)),
    disabled ? h('span', { class: 'status s-CANCELED' }, 'Disabled') : null,
    h('span', { class: 'capacity', title: 'min / desired / max' }, `Capacity ${capacityText(group)}`),
    instanceSquares(group.instances, (i) => instanceHref(app, group, i)),
    h('span', { class: 'muted health-summary' }, healthSummary(group.instances))),
  h('div', { class: 'sg-sub muted' }, imageOf(group) || 'no image',
    group.createdTime ? ` · launched ${when(group.createdTime)}` : ''));
}

function scalingPolicies(group) {
  const found = group.scalingPolicies || group.autoscalingPolicy || group.autoScalingPolicy
    || (group.launchConfig && group.launchConfig.autoscalingPolicy);
  if (!found || (Array.isArray(found) && !found.length)) return null;
  return h('section', {}, h('h3', {}, 'Scaling Policies'), json(found, 'Scaling policies'));
}

async function manifestSection(group) {
  const box = h('section', { 'aria-label': 'Manifest' }, h('h3', {}, 'Manifest'), h('p', { class: 'muted' }, 'Reading…'));
  const path = `/manifests/${encodeURIComponent(group.account)}/${encodeURIComponent(group.region)}/${encodeURIComponent(group.name)}`;
  gate(path).then((manifest) => {
    const status = manifest.status || {};
    const flags = ['stable', 'available', 'paused', 'failed'].map((k) => [k, status[k]]).filter(([, v]) => v);
    replace(box, h('h3', {}, 'Manifest'),
      table('Manifest status', ['Condition', 'State', 'Message'],
        flags.map(([k, v]) => [k, String(Boolean(v.state)), v.message || ''])),
      json(manifest.manifest, `Manifest of ${group.name}`));
  }, (err) => replace(box, h('h3', {}, 'Manifest'), h('p', { class: 'error', role: 'alert' }, err.message)));
  return box;
}

async function details(app, group, close, actions) {
  const counts = healthCounts(group.instances);
  const lbs = [...(group.loadBalancers || []), ...(group.targetGroups || []).map((t) => `${t} (target group)`)];
  const tags = Object.entries(group.tags || {});
  const instances = (group.instances || []).map((i) => [
    h('a', { href: instanceHref(app, group, i), 'aria-label': `Instance ${i.id || i.name} details` }, i.id || i.name), h('span', { class: `status h-${i.healthState || 'Unknown'}` }, i.healthState || 'Unknown'),
    i.availabilityZone || i.zone || '', i.privateIpAddress || '',
  ]);
  return h('aside', { class: 'details-panel', 'aria-label': `Server group ${group.name}`, tabindex: '-1' },
    h('header', {}, h('h2', {}, group.name),
      h('button', { type: 'button', onclick: close, 'aria-label': 'Close server group details' }, 'Close')),
    group.isDisabled ? h('p', { class: 'status s-CANCELED' }, 'Disabled') : null,
    actions,
    h('section', {}, h('h3', {}, 'Server Group Information'), facts([
      ['Created', group.createdTime ? when(group.createdTime) : ''],
      ['Account', group.account],
      ['Region', group.region],
      ['Provider', providerOf(group)],
      ['Cluster', group.cluster],
      ['Zones', group.zones],
      ['Instance type', group.instanceType],
      ['Image', imageOf(group)],
    ], 'Server group information')),
    h('section', {}, h('h3', {}, 'Capacity'), facts([
      ['Min', String(group.capacity?.min ?? '')], ['Desired', String(group.capacity?.desired ?? '')], ['Max', String(group.capacity?.max ?? '')],
    ], 'Capacity')),
    h('section', {}, h('h3', {}, 'Health'), facts(HEALTH.filter((s) => counts[s]).map((s) => [s, String(counts[s])]), 'Health counts'),
      instances.length ? table(`Instances of ${group.name}`, ['Instance', 'Health', 'Zone', 'Private IP'], instances)
        : h('p', { class: 'muted' }, 'No instances.')),
    h('section', {}, h('h3', {}, 'Load Balancers'),
      lbs.length ? h('ul', {}, lbs.map((n) => h('li', {}, n))) : h('p', { class: 'muted' }, 'None.')),
    h('section', {}, h('h3', {}, 'Firewalls'),
      (group.securityGroups || []).length ? h('ul', {}, group.securityGroups.map((n) => h('li', {}, n))) : h('p', { class: 'muted' }, 'None.')),
    scalingPolicies(group),
    tags.length ? h('section', {}, h('h3', {}, 'Tags'), facts(tags.map(([k, v]) => [k, String(v)]), 'Tags')) : null,
    providerOf(group) === 'kubernetes' ? await manifestSection(group) : null);
}

export async function clustersPage({ page, params, main }) {
  const instanceRoute = page === 'instanceDetails';
  const [app, provider, account, region, name] = instanceRoute ? [params[0], params[1]] : params;
  const instanceId = instanceRoute ? params[2] : null;
  const base = href('applications', app, 'clusters');
  const [clusters, read, managers] = await Promise.all([
    gate(`/applications/${encodeURIComponent(app)}/clusters`),
    cachedRead(`/applications/${encodeURIComponent(app)}/serverGroups`),
    // Kubernetes Deployments (server group managers); a failed read leaves the groups ungrouped
    gate(`/applications/${encodeURIComponent(app)}/serverGroupManagers`).catch(() => []),
  ]);
  let groups = read.data || [];
  let filter = '';
  let selected = name ? groups.find((g) => g.account === account && g.region === region && g.name === name
    && (!provider || providerOf(g) === provider)) : null;
  let selectedInstance = instanceId ? findInstance(groups, provider, instanceId) : null;
  const list = h('div', { id: 'clusters' });
  const panel = h('div', { class: 'panel-slot' });
  let stopActions = () => {};

  /** After a task ends: re-read the cache and redraw the list, leaving the panel (and the task's result) as it is. */
  async function reread() {
    try {
      groups = (await cachedRead(`/applications/${encodeURIComponent(app)}/serverGroups`)).data || [];
      if (selected) selected = groups.find((g) => g.account === selected.account && g.region === selected.region && g.name === selected.name) || selected;
      render();
    } catch { /* the panel shows the task's result; the list stays as it was */ }
  }

  async function showPanel() {
    stopActions();
    stopActions = () => {};
    if (selectedInstance) {
      const { group, instance } = selectedInstance;
      replace(panel, instancePanel(app, group, instance, { close: () => selectInstance(null), serverGroupHref: detailsHref(app, group) }));
      panel.firstChild.focus({ preventScroll: true });
      return;
    }
    if (!selected) { replace(panel); return; }
    const actions = providerOf(selected) === 'kubernetes'
      ? { element: h('p', { class: 'muted' }, 'Kubernetes server groups are changed through their manifests (Deploy, Scale, Delete Manifest stages).'), stop: () => {} }
      : serverGroupActions(app, selected, groups, { onDone: reread });
    stopActions = actions.stop;
    replace(panel, await details(app, selected, () => select(null), actions.element));
    panel.firstChild.focus({ preventScroll: true });
  }

  function select(group) {
    selected = group;
    selectedInstance = null;
    history.replaceState(null, '', group ? detailsHref(app, group) : base);
    render();
    showPanel();
  }

  function selectInstance(found) {
    selectedInstance = found;
    selected = null;
    history.replaceState(null, '', found ? instanceHref(app, found.group, found.instance) : base);
    render();
    showPanel();
  }

  // an instance link (a health square, the instance table) opens its panel in place, Deck's URL in the address bar
  main.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a[href*="/instanceDetails/"]');
    if (!link) return;
    const parts = link.getAttribute('href').split('/instanceDetails/')[1].split('/').map(decodeURIComponent);
    const found = findInstance(groups, parts[0], parts[1]);
    if (!found) return;
    event.preventDefault();
    selectInstance(found);
  });

  /** Deck's v2 clusters: a Kubernetes Deployment's ReplicaSets under its heading, the rest as they are:
   * ``[[manager or null, [server groups]]]``, managers first. */
  function byManager(acct, members) {
    const out = [];
    const left = new Set(members);
    for (const manager of managers || []) {
      if (manager.account !== acct) continue;
      const names = new Set((manager.serverGroups || []).map((g) => g.name));
      const owned = members.filter((g) => left.has(g) && names.has(g.name) && (g.region || '') === (manager.namespace || manager.region || ''));
      if (!owned.length) continue;
      owned.forEach((g) => left.delete(g));
      out.push([manager, owned]);
    }
    if (left.size) out.push([null, members.filter((g) => left.has(g))]);
    return out;
  }

  function render() {
    const shown = groups.filter((g) => !filter || [g.name, g.cluster, g.region, g.account, imageOf(g)]
      .some((v) => String(v || '').toLowerCase().includes(filter)));
    const byAccount = groupByCluster(shown, filter ? {} : clusters);
    replace(list, byAccount.length ? byAccount.map(([acct, byCluster]) => h('section', { class: 'account', 'aria-label': `Account ${acct}` },
      h('h2', {}, h('span', { class: 'account-tag' }, acct)),
      byCluster.map(([cluster, members]) => h('section', { class: 'group cluster', 'aria-label': `Cluster ${cluster} in ${acct}`, 'data-cluster': cluster },
        h('header', {}, h('h3', {}, cluster), h('span', { class: 'muted' }, `${members.length} server group${members.length === 1 ? '' : 's'}`),
          h('span', { class: 'muted' }, healthSummary(members.flatMap((m) => m.instances || [])))),
        members.length ? byManager(acct, members).map(([manager, owned]) => (manager
          ? h('div', { class: 'sg-manager', 'data-manager': manager.name },
            h('h4', {}, h('span', { class: 'muted' }, `${manager.kind || 'deployment'} `), manager.displayName || manager.name,
              h('span', { class: 'muted' }, ` · ${manager.namespace || manager.region || ''}`)),
            h('div', { role: 'list', 'aria-label': `Server groups of ${manager.name}` },
              owned.map((g) => serverGroupRow(app, g, select, g === selected))))
          : h('div', { role: 'list', 'aria-label': `Server groups of ${cluster}` },
            owned.map((g) => serverGroupRow(app, g, select, g === selected)))))
          : h('p', { class: 'muted pad' }, 'No server groups.')))))
      : h('p', { class: 'muted' }, groups.length ? 'No server groups match.' : 'No clusters in the cache for this application.'));
  }

  replace(main, ...appHeader(app, 'Clusters', 'clusters'),
    h('div', { class: 'toolbar', role: 'search' },
      searchBox('Filter clusters', '', (text) => { filter = text; render(); }), freshness(read)),
    h('div', { class: 'infra-layout' }, list, panel));
  render();
  if (selected || selectedInstance) await showPanel();
  else if (instanceId) replace(panel, h('p', { class: 'error', role: 'alert' }, `Instance ${instanceId} is not in the cache for ${app}`));
  else if (name) replace(panel, h('p', { class: 'error', role: 'alert' }, `Server group ${name} is not in ${account}/${region} (the cache has no such group)`));
  return () => stopActions();
}
