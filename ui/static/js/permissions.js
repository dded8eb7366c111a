// What the caller may do, from Fiat's GET /authorize/{user} (read once per page load). The API decides in the
// end: a button enabled here still shows Gate's 403 when the API refuses.

import { gate } from './gate.js';

let me = null;
let byApp = new Map();
let byAccount = new Map();
let open = true;

export async function loadUser() {
  me = await gate('/auth/user');
  try {
    const view = await gate(`/authorize/${encodeURIComponent(me.username)}`);
    byApp = new Map((view.applications || []).map((a) => [String(a.name).toLowerCase(), new Set(a.authorizations || [])]));
    byAccount = new Map((view.accounts || []).map((a) => [String(a.name).toLowerCase(), new Set(a.authorizations || [])]));
    open = false;
  } catch {
    open = true; // Fiat is not answering for this caller: let the API decide each action
  }
  return me;
}

export function user() {
  return me;
}

/** Why the caller may not do ``authorization`` (READ, WRITE, EXECUTE) on the application, or '' when it may. */
export function refusal(application, authorization) {
  if (open || (me && me.admin)) return '';
  const granted = byApp.get(String(application).toLowerCase());
  if (granted && granted.has(authorization)) return '';
  return `${me ? me.username : 'You'} lacks ${authorization} permission on ${application}`;
}

/** Why the caller may not do ``authorization`` on a cloud account, or '' when it may (an account Fiat does not list
 * is left to the API, which decides on the accounts it knows). */
export function accountRefusal(account, authorization) {
  if (open || (me && me.admin)) return '';
  const granted = byAccount.get(String(account).toLowerCase());
  if (!granted || granted.has(authorization)) return '';
  return `${me ? me.username : 'You'} lacks ${authorization} permission on account ${account}`;
}

/** What the caller may do per application, as Fiat answered (``null`` when Fiat did not answer: the API decides). */
export function grants() {
  if (open) return null;
  return [...byApp.entries()].map(([name, set]) => ({ name, authorizations: [...set].sort() }));
}
