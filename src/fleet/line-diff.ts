/**
 * A unified diff of two texts, line by line (LCS), with three lines of context: what support
 * reads to see how a hand-edited file differs from what mailplane applied. Managed files are
 * small; past MAX_LINES the diff says so instead of spending quadratic time on it.
 */
const MAX_LINES = 4000;
const CONTEXT = 3;

type Op = { kind: ' ' | '-' | '+'; line: string; a: number; b: number };

function ops(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push({ kind: ' ', line: a[i]!, a: i++, b: j++ });
      continue;
    }
    // Removed lines before added ones, as diff -u prints a change.
    if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push({ kind: '-', line: a[i]!, a: i++, b: j });
    else out.push({ kind: '+', line: b[j]!, a: i, b: j++ });
  }
  return out;
}

export function unifiedDiff(before: string, after: string, labels: { before: string; after: string }): string {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length > MAX_LINES || b.length > MAX_LINES) return `--- ${labels.before}\n+++ ${labels.after}\n(too long to show: ${a.length} and ${b.length} lines)\n`;
  const all = ops(a, b);
  const changed = all.map((o, k) => (o.kind === ' ' ? -1 : k)).filter((k) => k >= 0);
  if (changed.length === 0) return '';
  const lines = [`--- ${labels.before}`, `+++ ${labels.after}`];
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, changed[k]! - CONTEXT);
    let end = Math.min(all.length - 1, changed[k]! + CONTEXT);
    while (k + 1 < changed.length && changed[k + 1]! - CONTEXT <= end + 1) end = Math.min(all.length - 1, changed[++k]! + CONTEXT);
    k++;
    const hunk = all.slice(start, end + 1);
    const aCount = hunk.filter((o) => o.kind !== '+').length;
    const bCount = hunk.filter((o) => o.kind !== '-').length;
    lines.push(`@@ -${hunk[0]!.a + 1},${aCount} +${hunk[0]!.b + 1},${bCount} @@`, ...hunk.map((o) => `${o.kind}${o.line}`));
  }
  return `${lines.join('\n')}\n`;
}
