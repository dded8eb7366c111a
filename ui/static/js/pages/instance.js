// Deck's instance details panel (instanceDetails, at #/applications/{app}/clusters/instanceDetails/{provider}/
// {instanceId}): the instance's id, zone, launch time, health per type, private and public addresses, its server
// group's image and load balancers, and the server group itself (a link to its details). Shown from the cached
// server groups the Clusters page already read; nothing more is fetched.

import { h, when } from '../dom.js';
import { href } from '../router.js';
import { facts, healthOf, table } from '../infra.js';

function providerOf(group) {
  return group.cloudProvider || group.type || 'aws';
}

/** Deck's URL of an instance's details. */
export function instanceHref(app, group, instance) {
  return href('applications', app, 'clusters', 'instanceDetails', providerOf(group), instance.id || instance.name);
}

/** ``{group, instance}`` for an instance id (or Kubernetes "pod name") among the groups of a provider, or null. */
export function findInstance(groups, provider, instanceId) {
  for (const group of groups || []) {
    if (provider && providerOf(group) !== provider) continue;
    for (const instance of group.instances || []) {
      if ([instance.id, instance.name, instance.humanReadableName].includes(instanceId)) return { group, instance };
    }
  }
  return null;
}

/** Health per type as Clouddriver reports it (``health: [{type, state}]``), else the instance's summary state. */
export function healthRows(instance) {
  const rows = (instance.health || []).filter((x) => x && (x.type || x.state))
    .map((x) => [x.type || 'Unknown', x.state || x.status || 'Unknown', x.description || x.healthCheckUrl || '']);
  return rows.length ? rows : [['Summary', healthOf(instance), '']];
}

/** The panel; ``close`` leaves it, ``serverGroupHref`` opens the group's details. */
export function instancePanel(app, group, instance, { close, serverGroupHref }) {
  const id = instance.id || instance.name;
  const image = (group.image && (group.image.name || group.image.imageId)) || group.launchConfig?.imageId || '';
  const lbs = [...(group.loadBalancers || []), ...(group.targetGroups || []).map((t) => `${t} (target group)`)];
  return h('aside', { class: 'details-panel instance-panel', 'aria-label': `Instance ${id}`, tabindex: '-1' },
    h('header', {}, h('h2', {}, id),
      h('button', { type: 'button', onclick: close, 'aria-label': 'Close instance details' }, 'Close')),
    h('p', {}, h('span', { class: `status h-${healthOf(instance)}` }, healthOf(instance))),
    h('section', {}, h('h3', {}, 'Instance Information'), facts([
      ['Launched', instance.launchTime ? when(instance.launchTime) : ''],
      ['In', group.account],
      ['Region', group.region],
      ['Zone', instance.availabilityZone || instance.zone || ''],
      ['Type', instance.instanceType || group.instanceType],
      ['Server Group', h('a', { href: serverGroupHref }, group.name)],
      ['Image', image],
    ], 'Instance information')),
    h('section', {}, h('h3', {}, 'Status'), table(`Health of ${id}`, ['Type', 'State', 'Detail'], healthRows(instance))),
    h('section', {}, h('h3', {}, 'DNS'), facts([
      ['Private IP', instance.privateIpAddress || instance.privateIp || ''],
      ['Private DNS', instance.privateDnsName || ''],
      ['Public IP', instance.publicIpAddress || instance.publicIp || ''],
      ['Public DNS', instance.publicDnsName || ''],
    ], 'Addresses'), (instance.privateIpAddress || instance.publicIpAddress || instance.privateIp || instance.publicIp)
      ? null : h('p', { class: 'muted' }, 'No addresses in the cache.')),
    h('section', {}, h('h3', {}, 'Load Balancers'),
      lbs.length ? h('ul', { 'aria-label': 'Load balancers' }, lbs.map((n) => h('li', {}, n))) : h('p', { class: 'muted' }, 'None.')),
    h('section', {}, h('h3', {}, 'Firewalls'),
      (group.securityGroups || []).length ? h('ul', {}, group.securityGroups.map((n) => h('li', {}, n))) : h('p', { class: 'muted' }, 'None.')));
}
