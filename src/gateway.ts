import { NoSchemaIntrospectionCustomRule } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Config } from './config.js';
import { type Context, sessionFromHeader } from './context.js';
import { maskError } from './errors.js';
import { schema } from './schema/index.js';
import { createTimeZoneSource } from './time-zone.js';
import { createZStackClient, type ZStackClient } from './zstack/client.js';

export const DEFAULT_QUERY = `# Welcome to the ZStack GraphQL gateway.
#
# 1. Run LogIn below (no header needed). Copy session.uuid from the result.
# 2. Open the "Headers" tab at the bottom and set:
#      { "Authorization": "OAuth <the session uuid>" }
# 3. Run PendingTickets, pick a ticket uuid, put it in the variables and run Approve.

mutation LogIn {
  logIn(input: { kind: ACCOUNT, accountName: "admin", password: "password" }) {
    session { uuid expiredDate }
  }
}

mutation Approve($uuid: ID!) {
  changeTicketStatus(input: { uuid: $uuid, statusEvent: APPROVE, comment: "Looks good" }) {
    ticket { uuid name status lastOpDate request { requestName apiName executeTimes } }
  }
}

query Me {
  session { uuid }
}
`;

export interface GatewayDeps {
  /** An upstream client to use instead of creating one (tests). */
  client?: ZStackClient;
  /** Extra envelop/yoga plugins (observability, limits). */
  plugins?: Plugin[];
  /** The GraphiQL opening document; DEFAULT_QUERY when unset. */
  graphiqlQuery?: string;
}

export interface Gateway {
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  client: ZStackClient;
  /** Disposes yoga and closes the upstream pool. */
  close(): Promise<void>;
}

/** Builds the gateway for one ZStack; never listens and never reads process.env. */
export function createGateway(config: Config & { zstackUrl: string }, deps: GatewayDeps = {}): Gateway {
  const client =
    deps.client ??
    createZStackClient({
      baseUrl: config.zstackUrl,
      timeoutMs: config.zstackTimeoutMs,
      jobTimeoutMs: config.zstackJobTimeoutMs,
    });
  const timeZone = createTimeZoneSource(client, config.zstackTimeZone);
  const plugins: Plugin[] = [...(deps.plugins ?? [])];
  if (!config.introspection) {
    plugins.push({
      onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
    });
  }

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    maskedErrors: { maskError },
    graphiql: {
      title: 'ZStack GraphQL',
      defaultQuery: deps.graphiqlQuery ?? DEFAULT_QUERY,
      headers: JSON.stringify({ Authorization: 'OAuth <session uuid from logIn>' }, null, 2),
    },
    plugins,
    context: ({ request }) => ({
      session: sessionFromHeader(request.headers.get('authorization')),
      signal: request.signal,
      client,
      timeZone,
    }),
  });

  return {
    yoga,
    client,
    async close() {
      await yoga.dispose();
      await client.close();
    },
  };
}
