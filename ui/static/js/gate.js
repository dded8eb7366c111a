// The one way the pages talk to Gate: same-origin through the UI server's /gate proxy (docs/ui.md).

let config = { gate: 'gate', temporalWebUrl: 'http://127.0.0.1:8233', namespace: 'default' };

export class GateError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function loadConfig() {
  const answer = await fetch('config.json', { cache: 'no-store' });
  if (answer.ok) config = await answer.json();
  return config;
}

export function uiConfig() {
  return config;
}

export function gateUrl(path) {
  return `${config.gate}${path}`;
}

/** A request to Gate; the answer's JSON, or a GateError with Gate's message (403s name what is missing). */
export async function gate(path, { method = 'GET', body, query } = {}) {
  let url = gateUrl(path);
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, v);
    const text = params.toString();
    if (text) url += `?${text}`;
  }
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const answer = await fetch(url, init);
  const text = await answer.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!answer.ok) {
    const message = (data && (data.message || data.error)) || answer.statusText || 'request failed';
    const error = new GateError(answer.status, `${answer.status}: ${message}`);
    error.body = data; // Gate's error body: ``field`` names the offending input (the pipeline editor shows it there)
    throw error;
  }
  return data;
}

/** The execution's workflow in the Temporal Web UI. */
export function temporalLink(executionId) {
  return `${config.temporalWebUrl}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(executionId)}`;
}

/** A stage's own workflow in the Temporal Web UI (``{executionId}.stage-{refId}``, where its tasks' activities are,
 * each named "{stage}: {task}"); a restarted stage ran under ``.restart-{n}`` ids, so the list of all its attempts. */
export function temporalStageLink(executionId, stage) {
  const base = `${config.temporalWebUrl}/namespaces/${encodeURIComponent(config.namespace)}/workflows`;
  const id = `${executionId}.stage-${stage.refId}`;
  if ((stage.context || {}).restartDetails) {
    return `${base}?query=${encodeURIComponent(`WorkflowId STARTS_WITH "${id}"`)}`;
  }
  return `${base}/${encodeURIComponent(id)}`;
}
