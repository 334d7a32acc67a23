/** Prometheus text exposition format (version 0.0.4): just enough to write gauges, counters and histograms. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const formatLabels = (labels: Labels) => {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
};
const formatValue = (n: number) => (Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN');

export class MetricsText {
  private readonly lines: string[] = [];

  family(name: string, type: 'gauge' | 'counter' | 'histogram', help: string, samples: Array<{ labels?: Labels; value: number }>): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    for (const s of samples) this.lines.push(`${name}${formatLabels(s.labels ?? {})} ${formatValue(s.value)}`);
  }

  /** `buckets` are cumulative counts per upper bound; `+Inf` is added from `count`. */
  histogram(name: string, help: string, series: Array<{ labels: Labels; buckets: Array<[number, number]>; sum: number; count: number }>): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    for (const s of series) {
      for (const [le, n] of s.buckets) this.lines.push(`${name}_bucket${formatLabels({ ...s.labels, le: String(le) })} ${n}`);
      this.lines.push(`${name}_bucket${formatLabels({ ...s.labels, le: '+Inf' })} ${s.count}`);
      this.lines.push(`${name}_sum${formatLabels(s.labels)} ${formatValue(s.sum)}`);
      this.lines.push(`${name}_count${formatLabels(s.labels)} ${s.count}`);
    }
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}
