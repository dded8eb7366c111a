// A line diff of two texts (the pipeline's pretty JSON), computed in the browser for the revision history:
// the common head and tail are kept as they are, the middle is diffed by longest common subsequence.

/** The lines of ``before`` → ``after`` as ``[{op: 'same'|'add'|'remove', text}]`` in reading order. */
export function lineDiff(before, after) {
  const a = before === '' ? [] : before.split('\n');
  const b = after === '' ? [] : after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail += 1;
  const x = a.slice(head, a.length - tail);
  const y = b.slice(head, b.length - tail);
  const out = a.slice(0, head).map((text) => ({ op: 'same', text }));
  if (x.length * y.length > 4_000_000) { // too big to align line by line: all of one out, all of the other in
    out.push(...x.map((text) => ({ op: 'remove', text })), ...y.map((text) => ({ op: 'add', text })));
  } else {
    // lengths of the longest common subsequence of x[i:] and y[j:]
    const n = x.length, m = y.length;
    const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i -= 1) {
      for (let j = m - 1; j >= 0; j -= 1) {
        lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    let i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && x[i] === y[j]) { out.push({ op: 'same', text: x[i] }); i += 1; j += 1; }
      else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) { out.push({ op: 'add', text: y[j] }); j += 1; }
      else { out.push({ op: 'remove', text: x[i] }); i += 1; }
    }
  }
  out.push(...a.slice(a.length - tail).map((text) => ({ op: 'same', text })));
  return out;
}

/** How many lines a diff adds and removes. */
export function summary(diff) {
  return {
    additions: diff.filter((d) => d.op === 'add').length,
    removals: diff.filter((d) => d.op === 'remove').length,
  };
}

/** What the history compares: the config's pretty JSON without the fields every save changes. */
export function configText(config) {
  const { updateTs, lastModified, lastModifiedBy, ...rest } = config || {}; // eslint-disable-line no-unused-vars
  return JSON.stringify(rest, null, 2);
}
