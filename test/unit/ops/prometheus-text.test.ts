import { describe, expect, it } from 'vitest';
import { MetricsText } from '../../../src/ops/prometheus.ts';

describe('Prometheus text output', () => {
  it('escapes label values and writes cumulative histogram buckets with +Inf, sum and count', () => {
    const m = new MetricsText();
    m.family('x_total', 'counter', 'X.', [{ labels: { zone: 'a"b\\c\nd' }, value: 3 }]);
    m.histogram('d_seconds', 'D.', [
      {
        labels: { step: 'verify' },
        buckets: [
          [1, 1],
          [5, 2],
        ],
        sum: 4.5,
        count: 3,
      },
    ]);
    expect(m.toString()).toBe(
      [
        '# HELP x_total X.',
        '# TYPE x_total counter',
        'x_total{zone="a\\"b\\\\c\\nd"} 3',
        '# HELP d_seconds D.',
        '# TYPE d_seconds histogram',
        'd_seconds_bucket{step="verify",le="1"} 1',
        'd_seconds_bucket{step="verify",le="5"} 2',
        'd_seconds_bucket{step="verify",le="+Inf"} 3',
        'd_seconds_sum{step="verify"} 4.5',
        'd_seconds_count{step="verify"} 3',
        '',
      ].join('\n'),
    );
  });
});
