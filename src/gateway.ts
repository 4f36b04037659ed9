import { type ExecutionResult, type GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import { createYoga, type Plugin, type YogaLogger, type YogaServerInstance } from 'graphql-yoga';
import type { Config } from './config.js';
import { type Context, createContext, requestTag } from './context.js';
import { ErrorCode, maskError } from './errors.js';
import { renderLocalGraphiQL, useGraphiQLAssets } from './graphiql.js';
import { createJit } from './jit.js';
import { createLimitPlugins, hideSuggestions } from './limits.js';
import { createPersistedOperationsPlugin } from './persisted.js';
import { createPreparedOperations, type PreparedOperations } from './prepared.js';
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
# 3. Run PendingTickets and pick a ticket uuid: each ticket
#    shows its project, requester, approvers and the
#    resources it asks for by name, not by uuid.
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
    nodes {
      uuid name status currentFlowUuid
      accountSystemContext {
        project { name }
        virtualId { name }
      }
      request { action resources { name type } }
      flowCollection { flows { uuid name approver { name } } }
    }
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
    history { fromStatus toStatus comment operator { name } createDate }
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
  /**
   * Sees each error of an operation's result that is about to be masked as "Unexpected error."
   * (to log it), with the request's tag (REQUEST_TAG). Failures outside execution are logged by
   * yoga's own logger.
   */
  onMaskedError?: (error: unknown, tag: unknown) => void;
  /** Where yoga's own log lines go; yoga's console logger when unset. */
  logging?: YogaLogger | boolean;
  /**
   * Keep documents that passed yoga's pipeline for the fast path to run directly (default true).
   * Turn off when `plugins` holds per-request hooks (onParams, onExecute…): a prepared operation
   * skips them.
   */
  preparedOperations?: boolean;
}

export interface Gateway {
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  client: ZStackClient;
  /** Documents the fast path may run without yoga's pipeline; undefined when that is off. */
  prepared: PreparedOperations | undefined;
  /** The context yoga's factory builds, for a request's Authorization header, abort signal and tag. */
  createContext(authorization: string | null | undefined, signal: AbortSignal, tag: unknown): Context;
  /**
   * What yoga does to an execution result before it is sent (error masking, then hiding
   * suggestions), reporting what it masks to onMaskedError.
   */
  finishResult(result: ExecutionResult, tag: unknown): ExecutionResult;
  /** Disposes yoga and closes the upstream pool. */
  close(): Promise<void>;
}

interface MaskedErrorsOpts {
  errorMessage: string;
  maskError: (error: GraphQLError, message: string) => GraphQLError;
}

/** Calls `report` with each error that masking turns into "Unexpected error.". */
function reportMasked(
  errors: readonly GraphQLError[] | undefined,
  tag: unknown,
  report: ((error: unknown, tag: unknown) => void) | undefined,
): void {
  if (errors === undefined || report === undefined) return;
  for (const error of errors) {
    const out = maskError(error);
    const code = (out as { extensions?: { code?: unknown } }).extensions?.code;
    if (out !== error && code === ErrorCode.INTERNAL_SERVER_ERROR) report(error, tag);
  }
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
  const jit = config.jit ? createJit() : undefined;
  const prepared =
    deps.preparedOperations === false ? undefined : createPreparedOperations({ execute: jit?.execute });
  // Prepared operations record what yoga's own executor would run, so they go before jit.
  if (prepared !== undefined) plugins.push(prepared.plugin);
  if (jit !== undefined) plugins.push(jit.plugin);
  const contextFor = (authorization: string | null | undefined, signal: AbortSignal, tag: unknown) =>
    createContext({
      authorization,
      signal,
      client,
      timeZone,
      feed,
      operationTimeoutMs: config.operationTimeoutMs,
      tag,
    });
  if (onMaskedError !== undefined) {
    // Sees results before yoga's masking (it runs after every plugin given to createYoga).
    plugins.push({
      onExecute: ({ args }) => ({
        onExecuteDone({ result }) {
          if (!(Symbol.asyncIterator in result))
            reportMasked(result.errors, (args.contextValue as unknown as Context).tag, onMaskedError);
        },
      }),
    });
  }

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    maskedErrors: { maskError },
    logging: deps.logging ?? true,
    renderGraphiQL: renderLocalGraphiQL,
    graphiql: {
      title: 'ZStack GraphQL',
      defaultQuery: deps.graphiqlQuery ?? DEFAULT_QUERY,
      headers: JSON.stringify({ Authorization: 'OAuth <session uuid from logIn>' }, null, 2),
    },
    plugins: [useGraphiQLAssets(), ...plugins],
    context: ({ request, req }) =>
      contextFor(request.headers.get('authorization'), request.signal, requestTag(req)),
  });

  // yoga's masking as its useMaskedErrors applies it (logging what it masks); private in its typings.
  const masking = (yoga as unknown as { maskedErrorsOpts: MaskedErrorsOpts | null }).maskedErrorsOpts;
  const finishResult = (result: ExecutionResult, tag: unknown): ExecutionResult => {
    reportMasked(result.errors, tag, onMaskedError);
    let out = result;
    if (masking !== null && result.errors !== undefined) {
      out = { ...result, errors: result.errors.map((e) => masking.maskError(e, masking.errorMessage)) };
    }
    if (!config.introspection) hideSuggestions(out.errors);
    return out;
  };

  return {
    yoga,
    client,
    prepared,
    createContext: contextFor,
    finishResult,
    async close() {
      feed.close();
      await yoga.dispose();
      await client.close();
    },
  };
}
