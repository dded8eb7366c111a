// Live pages: the engine's transitions as server-sent events (GET /events/stream), each naming one execution.
// Changes to the same execution within a short window are read once (one GET /pipelines/{id}), never every execution.

import { gateUrl } from './gate.js';

const SETTLE_MS = 120;
// a change that names no execution (a pause, a task's progress: the stream's "changed") re-reads the whole page's
// view, at most once a second
const CHANGED_SETTLE_MS = 1000;

/**
 * Follow an application's transitions; ``onChange(executionId, message)`` runs once per settled burst (``null`` for
 * a change the stream could not tie to one execution: read the page's view again).
 * ``onState(connected)`` reports the stream's health. Returns a function that stops following.
 */
export function follow(application, { executionId, onChange, onState }) {
  const query = new URLSearchParams({ application });
  if (executionId) query.set('executionId', executionId);
  const source = new EventSource(gateUrl(`/events/stream?${query}`));
  const pending = new Map();
  source.addEventListener('open', () => onState && onState(true));
  source.addEventListener('error', () => onState && onState(false));
  source.addEventListener('execution', (event) => {
    const message = JSON.parse(event.data);
    const id = message.executionId || (message.type === 'changed' ? '*' : null);
    if (!id || pending.has(id)) return;
    const wait = id === '*' ? CHANGED_SETTLE_MS : SETTLE_MS;
    pending.set(id, setTimeout(() => { pending.delete(id); onChange(id === '*' ? null : id, message); }, wait));
  });
  return () => {
    source.close();
    for (const timer of pending.values()) clearTimeout(timer);
  };
}
