// Hash routes in Deck's URL shapes, so bookmarks and the links in notifications open the same pages.

const ROUTES = [
  ['applications', /^\/applications\/?$/],
  ['executionDetails', /^\/applications\/([^/]+)\/executions\/details\/([^/]+)\/?$/],
  ['executions', /^\/applications\/([^/]+)\/executions\/?$/],
  ['configure', /^\/applications\/([^/]+)\/executions\/configure\/([^/]+)\/?$/],
  ['clusters', /^\/applications\/([^/]+)\/clusters\/?$/],
  ['serverGroupDetails', /^\/applications\/([^/]+)\/clusters\/serverGroupDetails\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)\/?$/],
  ['instanceDetails', /^\/applications\/([^/]+)\/clusters\/instanceDetails\/([^/]+)\/([^/]+)\/?$/],
  ['loadBalancers', /^\/applications\/([^/]+)\/loadBalancers\/?$/],
  // Deck's details URLs: {provider}/{account}/{region}[/{vpcId}]/{name} (vpcId left out when there is none)
  ['loadBalancerDetails', /^\/applications\/([^/]+)\/loadBalancers\/loadBalancerDetails\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)\/?$/],
  ['loadBalancerDetails', /^\/applications\/([^/]+)\/loadBalancers\/loadBalancerDetails\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)\/?$/],
  ['firewalls', /^\/applications\/([^/]+)\/firewalls\/?$/],
  ['firewallDetails', /^\/applications\/([^/]+)\/firewalls\/firewallDetails\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)\/?$/],
  ['firewallDetails', /^\/applications\/([^/]+)\/firewalls\/firewallDetails\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)\/?$/],
  ['bakes', /^\/applications\/([^/]+)\/bakes\/?$/],
  ['canary', /^\/applications\/([^/]+)\/canary\/?$/],
  ['audit', /^\/audit\/?$/],
  ['application', /^\/applications\/([^/]+)\/?$/],
];

/** The page a hash names: ``{page, params: [...], query: URLSearchParams}``; unknown hashes open Applications. */
export function parse(hash) {
  const text = (hash || '').replace(/^#/, '') || '/applications';
  const [path, search = ''] = text.split('?');
  for (const [page, pattern] of ROUTES) {
    const match = pattern.exec(path);
    if (match) return { page, params: match.slice(1).map(decodeURIComponent), query: new URLSearchParams(search) };
  }
  return { page: 'notFound', params: [path], query: new URLSearchParams(search) };
}

export function href(...parts) {
  return `#/${parts.map((p) => encodeURIComponent(p)).join('/')}`;
}

/** Change the query of the current hash without adding a history entry or re-rendering the page. */
export function setQuery(query) {
  const [path] = location.hash.split('?');
  const text = query.toString();
  history.replaceState(null, '', text ? `${path}?${text}` : path);
}
