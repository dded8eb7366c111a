// Pages whose URLs exist (Deck's bookmarks keep working) but whose content is not built yet (issue 16).

import { h, replace } from '../dom.js';
import { href } from '../router.js';

const WHAT = {
  configure: 'The pipeline editor',
  clusters: 'Clusters, server groups and load balancers',
  notFound: 'This page',
};

export function notYetPage({ page, params, main }) {
  const app = page === 'notFound' ? null : params[0];
  replace(main,
    h('h1', {}, `${WHAT[page]} is not in Gennaker's UI yet`),
    h('p', {}, 'Gate\'s API has it: see docs/api.md, or the SDK and CLI (gennaker pipelines, gennaker apply).'),
    app ? h('p', {}, h('a', { href: href('applications', app, 'executions') }, `Back to ${app}'s executions`))
      : h('p', {}, h('a', { href: '#/applications' }, 'Applications')));
}
