import { NoSchemaIntrospectionCustomRule } from 'graphql';
import { createYoga, type Plugin, type YogaLogger, type YogaServerInstance } from 'graphql-yoga';
import type { Config } from './config.js';
import { type Context, createContext } from './context.js';
import { maskError } from './errors.js';
import { renderLocalGraphiQL, useGraphiQLAssets } from './graphiql.js';
import { createJitPlugin } from './jit.js';
import { createLimitPlugins } from './limits.js';
import { createPersistedOperationsPlugin } from './persisted.js';
import { schema } from './schema/index.js';
import { createTicketFeed } from './ticket-feed.js';
import { createTimeZoneSource } from './time-zone.js';
import { createWebhookPlugin } from './webhook.js';
import {
  createZStackClient,
  type JobEvent,
  type UpstreamCallEvent,
  type ZStackClient,
} from './zstack/client.js';

export const DEFAULT_QUERY = `# Welcome to the ZStack GraphQL gateway.
#
# Run an operation: press the ▶ button and pick its name
# (or put the cursor inside it and press Ctrl-Enter).
#
# 1. Run LogIn (needs no header) and copy session.uuid
#    from the result.
# 2. Open the "Headers" tab below the editor and set:
#      { "Authorization": "OAuth <the session uuid>" }
#    Every other operation needs that header.
# 3. Run PendingTickets and pick a ticket uuid.
# 4. Put it in the "Variables" tab:
#      { "uuid": "<the ticket uuid>" }
#    and run Approve (or Reject), then Ticket to see
#    its history.

mutation LogIn {
  logIn(input: {
    kind: ACCOUNT
    accountName: "admin"
    password: "password"
  }) {
    session { uuid expiredDate }
  }
}

query PendingTickets {
  tickets(where: { statusIn: [PENDING] }, first: 10) {
    nodes { uuid name status }
  }
}

mutation Approve($uuid: ID!) {
  changeTicketStatus(input: {
    uuid: $uuid
    statusEvent: APPROVE
    comment: "Looks good"
  }) {
    ticket { uuid name status lastOpDate }
  }
}

mutation Reject($uuid: ID!) {
  changeTicketStatus(input: {
    uuid: $uuid
    statusEvent: REJECT
    comment: "Please use a smaller flavour"
  }) {
    ticket { uuid name status lastOpDate }
  }
}

query Ticket($uuid: ID!) {
  ticket(uuid: $uuid) {
    uuid name status
    history { fromStatus toStatus comment createDate }
  }
}
`;

export interface GatewayDeps {
  /** An upstream client to use instead of creating one (tests). */
  client?: ZStackClient;
  /** Extra envelop/yoga plugins (observability, limits). */
  plugins?: Plugin[];
  /** The GraphiQL opening document; DEFAULT_QUERY when unset. */
  graphiqlQuery?: string;
  /** Observes every upstream HTTP exchange of the client createGateway creates (metrics, logs). */
  onCall?: (e: UpstreamCallEvent) => void;
  /** Observes every job wait of the client createGateway creates. */
  onJob?: (e: JobEvent) => void;
  /** Sees each error that is about to be masked as "Unexpected error." (to log it). */
  onMaskedError?: (error: unknown) => void;
  /** Where yoga's own log lines go; yoga's console logger when unset. */
  logging?: YogaLogger | boolean;
}

export interface Gateway {
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  client: ZStackClient;
  /** Disposes yoga and closes the upstream pool. */
  close(): Promise<void>;
}

function observedMaskError(onMaskedError: (error: unknown) => void): typeof maskError {
  return (error) => {
    const out = maskError(error);
    const code = (out as { extensions?: { code?: unknown } }).extensions?.code;
    if (out !== error && code === 'INTERNAL_SERVER_ERROR') onMaskedError(error);
    return out;
  };
}

/** Builds the gateway for one ZStack; never listens and never reads process.env. */
export function createGateway(config: Config & { zstackUrl: string }, deps: GatewayDeps = {}): Gateway {
  const client =
    deps.client ??
    createZStackClient({
      baseUrl: config.zstackUrl,
      timeoutMs: config.zstackTimeoutMs,
      jobTimeoutMs: config.zstackJobTimeoutMs,
      webhookUrl: config.zstackWebhookUrl,
      onCall: deps.onCall,
      onJob: deps.onJob,
    });
  const { onMaskedError } = deps;
  const timeZone = createTimeZoneSource(client, config.zstackTimeZone);
  const feed = createTicketFeed(client, { intervalMs: config.ticketPollIntervalMs });
  const plugins: Plugin[] = [...createLimitPlugins(config), ...(deps.plugins ?? [])];
  if (config.persistedOperationsFile) {
    plugins.push(
      createPersistedOperationsPlugin({
        manifestPath: config.persistedOperationsFile,
        only: config.persistedOperationsOnly ?? false,
      }),
    );
  }
  if (!config.introspection) {
    plugins.push({
      onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
    });
  }
  // The webhook answers before any GraphQL limit looks at the request; jit goes last so its
  // execute is the one that runs.
  if (config.zstackWebhookUrl !== undefined)
    plugins.unshift(createWebhookPlugin(client, config.zstackWebhookUrl));
  if (config.jit) plugins.push(createJitPlugin());

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    maskedErrors: { maskError: onMaskedError ? observedMaskError(onMaskedError) : maskError },
    logging: deps.logging ?? true,
    renderGraphiQL: renderLocalGraphiQL,
    graphiql: {
      title: 'ZStack GraphQL',
      defaultQuery: deps.graphiqlQuery ?? DEFAULT_QUERY,
      headers: JSON.stringify({ Authorization: 'OAuth <session uuid from logIn>' }, null, 2),
    },
    plugins: [useGraphiQLAssets(), ...plugins],
    context: ({ request }) =>
      createContext({
        authorization: request.headers.get('authorization'),
        signal: request.signal,
        client,
        timeZone,
        feed,
        operationTimeoutMs: config.operationTimeoutMs,
      }),
  });

  return {
    yoga,
    client,
    async close() {
      feed.close();
      await yoga.dispose();
      await client.close();
    },
  };
}
