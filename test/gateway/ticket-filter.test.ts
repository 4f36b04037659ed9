/**
 * A `ticketUpdated` stream's `where` is applied in memory; its text matching follows ZStack's default
 * MySQL collation (issue 25, D14), so a stream picks the same tickets a `tickets` query does.
 */
import { describe, expect, it } from 'vitest';
import { ticketMatches } from '../../src/live/ticket-filter.js';
import type { ApiTicket } from '../../src/zstack/types.js';

const ticket = (name: string) => ({ uuid: 'a'.repeat(32), name, status: 'Pending' }) as unknown as ApiTicket;

describe('ticketUpdated filters compare text like utf8_general_ci', () => {
  it.each([
    [{ name: 'demo ticket 7' }, 'Demo Ticket 7', true],
    [{ name: 'DEMO TICKET 7' }, 'demo ticket 7', true],
    [{ name: 'démo ticket 7' }, 'demo ticket 7', true],
    [{ name: 'demo ticket 7  ' }, 'demo ticket 7', true],
    [{ name: 'demo ticket 7' }, 'demo ticket 70', false],
    [{ nameContains: 'TICKET 1' }, 'demo ticket 12', true],
    [{ nameContains: 'Ticket' }, 'DEMO TICKET', true],
    [{ nameContains: 'ticket 2' }, 'demo ticket 12', false],
  ])('%j on %s → %s', (filter, name, expected) => {
    expect(ticketMatches(filter, ticket(name))).toBe(expected);
  });
});
