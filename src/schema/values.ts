import { unrepresentable } from '../errors.js';
import type { Context } from '../request/context.js';
import { parseJavaDate } from '../zstack/dates.js';
import { builder } from './builder.js';

/*
 * How ZStack's values become the schema's: ticket statuses and events, dates in the management
 * node's zone, names ZStack must send. Every type that shows a ZStack row uses these.
 */

/** ZStack's TicketStatus strings, by GraphQL enum value. */
const ticketStatuses = {
  PENDING: { value: 'Pending', description: 'Submitted and waiting for the first approver.' },
  CANCELLED: { value: 'Cancelled', description: 'Withdrawn by its submitter or an admin.' },
  INTERMEDIATE_APPROVED: {
    value: 'IntermediateApproved',
    description: 'Approved by at least one approver of its flow collection; waiting for the next.',
  },
  FINAL_APPROVED: {
    value: 'FinalApproved',
    description: 'Approved by the last approver; ZStack has executed its requests.',
  },
  REJECTED: {
    value: 'Rejected',
    description: 'Rejected by an approver; the submitter may edit and reopen it.',
  },
} as const;
const knownStatuses = new Set<string>(Object.values(ticketStatuses).map((s) => s.value));

export const TicketStatus = builder.enumType('TicketStatus', {
  description: 'Where a ticket stands in its approval flow (ZStack TicketStatus).',
  values: ticketStatuses,
});

export const TicketStatusEvent = builder.enumType('TicketStatusEvent', {
  description: 'An event that moves a ticket between statuses (ZStack TicketStatusEvent).',
  values: {
    OPEN: {
      value: 'open',
      description: 'Open the ticket (ZStack does this itself when a ticket is created).',
    },
    APPROVE: {
      value: 'approve',
      description: "Approve at the ticket's current flow; by that flow's approver or an admin.",
    },
    CANCEL: { value: 'cancel', description: 'Withdraw the ticket; by its submitter or an admin.' },
    REJECT: {
      value: 'reject',
      description: "Reject the ticket; by the current flow's approver or an admin.",
    },
    REOPEN: { value: 'reopen', description: 'Send a rejected or cancelled ticket back to Pending.' },
  } as const,
});

/**
 * Resolves a ticket status, refusing values this gateway does not know (a newer ZStack) with a field
 * error, so the rest of the ticket still reaches the caller.
 */
export function resolveStatus(status: string | undefined): string | null {
  if (status === undefined) return null;
  if (!knownStatuses.has(status)) {
    throw unrepresentable(`ZStack returned the ticket status "${status}", which this gateway does not know.`);
  }
  return status;
}

/** A Java date string from ZStack as a Date, in the management node's zone; null when absent. */
export function resolveDate(value: string | undefined, ctx: Context): Date | null | Promise<Date | null> {
  if (value === undefined) return null;
  const zone = ctx.timeZone.current;
  if (zone) return parseDateOrFail(value, zone);
  const pending = ctx.timeZone.ensure(ctx.session);
  return typeof pending === 'string'
    ? parseDateOrFail(value, pending)
    : pending.then((z) => parseDateOrFail(value, z));
}

function parseDateOrFail(value: string, zone: string): Date {
  const date = parseJavaDate(value, zone);
  if (!date) {
    throw unrepresentable(`ZStack returned a date the gateway cannot read: "${value.slice(0, 40)}"`);
  }
  return date;
}

/** A name ZStack must send; a missing one is an upstream fault, reported on the field. */
export function requiredName(name: string | undefined, what: string): string {
  if (name === undefined) {
    throw unrepresentable(`ZStack returned a ${what} without a name.`);
  }
  return name;
}
