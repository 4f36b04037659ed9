import { describe, expect, it } from 'vitest';
import { idempotentJobUuid } from '../../src/request/idempotency.js';

const session = 'a'.repeat(32);

describe('idempotentJobUuid', () => {
  const base = idempotentJobUuid(session, 'changeTicketStatus', 'k1', { uuid: 'b', statusEvent: 'approve' });

  it('is 32 lowercase hex', () => expect(base).toMatch(/^[0-9a-f]{32}$/));

  it('ignores key order and undefined fields', () => {
    expect(
      idempotentJobUuid(session, 'changeTicketStatus', 'k1', {
        statusEvent: 'approve',
        comment: undefined,
        uuid: 'b',
      }),
    ).toBe(base);
  });

  it.each([
    ['another session', 'c'.repeat(32), 'changeTicketStatus', 'k1', { uuid: 'b', statusEvent: 'approve' }],
    ['another mutation', session, 'updateTicketRequest', 'k1', { uuid: 'b', statusEvent: 'approve' }],
    ['another key', session, 'changeTicketStatus', 'k2', { uuid: 'b', statusEvent: 'approve' }],
    ['another input', session, 'changeTicketStatus', 'k1', { uuid: 'b', statusEvent: 'reject' }],
  ])('changes with %s', (_name, s, m, k, input) => {
    expect(idempotentJobUuid(s, m, k, input)).not.toBe(base);
  });
});
