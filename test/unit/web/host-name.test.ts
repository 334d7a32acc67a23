import { describe, expect, it } from 'vitest';
import { hostName } from '../../../src/web/host-name.ts';

describe('host names on the dashboard', () => {
  it('may wrap after each dot and nowhere else, with every label escaped', async () => {
    expect(String(await hostName('_25._tcp.mail.example.com'))).toBe('<code class="host">_25.<wbr>_tcp.<wbr>mail.<wbr>example.<wbr>com</code>');
    expect(String(await hostName('a<b>.test'))).toBe('<code class="host">a&lt;b&gt;.<wbr>test</code>');
  });
});
