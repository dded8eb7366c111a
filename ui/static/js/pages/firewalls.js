// Firewalls (Deck's "Firewalls" tab, security groups): the application's firewalls from Gate's cached read, by
// account and region; each opens to its ingress rules (another firewall, a CIDR range or a source tag, with the
// protocol and ports).

import { h, replace } from '../dom.js';
import { href } from '../router.js';
import { appHeader, cachedRead, freshness, facts, table, searchBox, detailsUrl, namedItem, linkDetails } from '../infra.js';
import { byAccountAndRegion } from './load_balancers.js';

/** "7001", "7000-7002", "all ports". */
export function portsText(ranges) {
  const parts = (ranges || []).map((r) => {
    if (r.startPort === 0 && r.endPort === 65535) return 'all ports';
    return r.startPort === r.endPort || r.endPort === undefined ? String(r.startPort) : `${r.startPort}-${r.endPort}`;
  });
  return parts.length ? parts.join(', ') : 'all ports';
}

/** Where a rule lets traffic in from: another firewall (name and id; its account when not ``account``), a CIDR
 * range, or a source tag. */
export function sourceText(rule, account) {
  if (rule.securityGroup) {
    const g = rule.securityGroup;
    return `${g.name || g.id}${g.name && g.id ? ` (${g.id})` : ''}${g.accountName && g.accountName !== account ? ` in ${g.accountName}` : ''}`;
  }
  if (rule.range) return `${rule.range.ip}${rule.range.cidr || ''}`;
  if (rule.sourceTag) return `tag ${rule.sourceTag}`;
  return 'anywhere';
}

function protocolText(protocol) {
  return protocol === '-1' || protocol === undefined || protocol === null ? 'all' : String(protocol);
}

function card(app, group, open) {
  const rules = group.inboundRules || [];
  const url = detailsUrl(app, 'firewalls', 'firewallDetails', group);
  return linkDetails(h('details', { class: 'item', 'data-name': group.name },
    h('summary', {}, h('strong', {}, group.name), h('span', { class: 'muted' }, ` ${group.id && group.id !== group.name ? group.id : ''} · ${group.vpcId || group.network || ''}`),
      h('span', { class: 'muted' }, ` · ${rules.length} ingress rule${rules.length === 1 ? '' : 's'}`)),
    h('div', {},
      facts([
        ['Id', group.id], ['Account', group.account || group.accountName], ['Region', group.region], ['VPC', group.vpcId],
        ['Description', group.description], ['Target tags', group.targetTags],
      ], `Firewall ${group.name}`),
      h('h3', {}, 'Ingress Rules'),
      rules.length ? table(`Ingress rules of ${group.name}`, ['Source', 'Protocol', 'Ports'],
        rules.map((r) => [sourceText(r, group.account || group.accountName), protocolText(r.protocol), portsText(r.portRanges)]))
        : h('p', { class: 'muted' }, 'No ingress rules: nothing may connect in.'))), url, href('applications', app, 'firewalls'), open);
}

export async function firewallsPage({ params, main }) {
  const app = params[0];
  const read = await cachedRead(`/applications/${encodeURIComponent(app)}/firewalls`);
  const items = (read.data || []).sort((a, b) => a.name.localeCompare(b.name));
  const list = h('div', { id: 'firewalls' });
  const named = namedItem(items, params);
  let filter = '';
  function render() {
    const shown = items.filter((g) => !filter || [g.name, g.id, g.region, g.account, g.vpcId].some((v) => String(v || '').toLowerCase().includes(filter)));
    replace(list, shown.length ? byAccountAndRegion(shown).map((g) => h('section', { class: 'group', 'aria-label': `${g.account} ${g.region}` },
      h('header', {}, h('h2', {}, h('span', { class: 'account-tag' }, g.account), ` ${g.region}`)),
      g.items.map((fw) => card(app, fw, fw === named))))
      : h('p', { class: 'muted' }, items.length ? 'No firewalls match.' : 'No firewalls in the cache for this application.'));
  }
  replace(main, ...appHeader(app, 'Firewalls', 'firewalls'),
    h('div', { class: 'toolbar', role: 'search' }, searchBox('Filter firewalls', '', (t) => { filter = t; render(); }), freshness(read)),
    list,
    params.length >= 5 && !named ? h('p', { class: 'error', role: 'alert' }, `Firewall ${params[params.length - 1]} is not in the cache`) : null);
  render();
}
