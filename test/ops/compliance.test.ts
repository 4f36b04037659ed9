import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpsHarness, startOps } from './support.js';

let h: OpsHarness;
beforeAll(async () => {
  h = await startOps({ env: { LOG_LEVEL: 'silent' } });
});
afterAll(() => h.close());

// Every audit, MUST, SHOULD and MAY alike, passes: none is left out (README, GraphQL over HTTP).
describe('GraphQL over HTTP (graphql-http server audits)', () => {
  for (const audit of serverAudits({ url: () => h.url, fetchFn: fetch })) {
    it(`${audit.id} ${audit.name}`, async () => {
      const result = await audit.fn();
      if (result.status !== 'ok') {
        const body = await result.response.text().catch(() => '');
        expect.fail(`${result.reason} (status ${result.response.status}, body ${body.slice(0, 300)})`);
      }
    });
  }
});
