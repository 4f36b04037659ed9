import { createGatewayClient, GatewayError } from './client.js';
import type { ErrorCode } from './gql/graphql.js';
import { DecideTicket, LogIn, PendingTickets, TicketWithHistory } from './operations.js';

// An approval screen in a terminal: log in, list tickets waiting for approval, decide one, show its history.
// Settings come from the environment so the example runs against any gateway unchanged.
const env = process.env;
const client = createGatewayClient({
  url: env.GATEWAY_URL ?? 'http://127.0.0.1:4000/graphql',
  persisted: env.PERSISTED === '1',
});
const decision = env.DECISION === 'reject' ? 'REJECT' : 'APPROVE';

async function main(): Promise<void> {
  const { logIn } = await client.execute(LogIn, {
    input: {
      kind: 'ACCOUNT',
      accountName: env.ZSTACK_ACCOUNT ?? 'admin',
      password: env.ZSTACK_PASSWORD ?? 'password',
    },
  });
  client.setSession(logIn?.session.uuid);

  const { tickets } = await client.execute(PendingTickets, { first: 10 });
  // Root fields are nullable (a failed call costs only its own field); this client throws on any
  // error, so none of them is null here, but the types say it could be.
  if (!tickets) throw new Error('the ticket list is unavailable');
  const chosen = env.TICKET_UUID ?? tickets.nodes[0]?.uuid;
  const listed = tickets.nodes.find((t) => t.uuid === chosen);
  // What the approver sees: names, not uuids (one GetResourceNames call for the whole page).
  const summary = listed && {
    name: listed.name,
    project: listed.accountSystemContext?.project?.name ?? null,
    requester: listed.accountSystemContext?.virtualId?.name ?? null,
    approver:
      listed.flowCollection?.flows.find((f) => f.uuid === listed.currentFlowUuid)?.approver?.name ?? null,
    requests: listed.request.map((r) => ({
      action: r.action,
      // A null entry ends a list the gateway cut (RESOURCE_LIMIT_EXCEEDED in errors): say so.
      resources: r.resources.map((res) =>
        res === null ? '… more not listed' : `${res.type ?? 'unknown'} ${res.name ?? res.uuid}`,
      ),
    })),
  };
  if (!chosen) {
    console.log(JSON.stringify({ waiting: tickets.totalCount, decided: null }));
    return;
  }

  const { changeTicketStatus } = await client.execute(DecideTicket, {
    uuid: chosen,
    event: decision,
    comment:
      env.COMMENT ?? `${decision === 'REJECT' ? 'Rejected' : 'Approved'} by the approval-client example`,
  });
  const { ticket } = await client.execute(TicketWithHistory, { uuid: chosen });
  console.log(
    JSON.stringify({
      waiting: tickets.totalCount,
      ticket: summary ?? null,
      decided: changeTicketStatus?.ticket ?? null,
      history: ticket?.history,
    }),
  );
}

/** What the approver is told, by the schema's ErrorCode (a code the schema does not have fails to compile). */
function advice(code: ErrorCode | undefined): string {
  switch (code) {
    case 'UNAUTHENTICATED':
      return 'log in again';
    case 'RATE_LIMITED':
      return 'too many logins: wait before trying again';
    case 'FORBIDDEN':
      return 'you may not decide this ticket (not its current approver)';
    case 'NOT_FOUND':
      return 'the ticket is gone: reload the list';
    case 'JOB_PENDING':
      return 'the decision was sent and is still being applied: do not send it again';
    case 'UPSTREAM_UNAVAILABLE':
    case 'UPSTREAM_TIMEOUT':
      return 'ZStack is not answering: try again later';
    default:
      return 'see the message';
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof GatewayError ? `${error.message} (${advice(error.code)})` : error);
  process.exitCode = 1;
});
