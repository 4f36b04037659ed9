import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { type ExecutionResult, GraphQLError, type GraphQLFormattedError } from 'graphql';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import { type WebSocket, WebSocketServer } from 'ws';
import { ErrorCode, maskError } from '../errors.js';
import type { StreamSink } from '../live/feed-stream.js';
import { attachScope, RequestScope } from '../observability/request-scope.js';
import { sessionFromHeader } from '../request/context.js';
import { CloseSignal } from './close-signal.js';
import type { Enveloped } from './graphql-post.js';
import type { SubscribeParams, WebSocketEntryOptions } from './websocket-options.js';

/** One operation in flight on a socket. */
interface Operation {
  scope: RequestScope;
  signal: CloseSignal;
}

/** One open socket: its operations, its identity for the log, its liveness. */
interface SocketState {
  ws: WebSocket;
  id: string;
  /** The upgrade request with the session header the socket authenticates with. */
  view: IncomingMessage;
  sink: StreamSink;
  operations: Map<string, Operation>;
  counter: number;
  alive: boolean;
}

const AUTH_KEYS = ['authorization', 'Authorization'] as const;

/** The Authorization value of connection_init's payload (`{ authorization: "OAuth <uuid>" }`), if any. */
export function authorizationOf(connectionParams: Readonly<Record<string, unknown>> | undefined) {
  for (const key of AUTH_KEYS) {
    const value = connectionParams?.[key];
    if (typeof value === 'string') return value;
  }
  const headers = connectionParams?.headers;
  if (typeof headers === 'object' && headers !== null) {
    for (const key of AUTH_KEYS) {
      const value = (headers as Record<string, unknown>)[key];
      if (typeof value === 'string') return value;
    }
  }
  return undefined;
}

/**
 * The upgrade request as every operation of the socket sees it: the same socket and headers, with
 * the Authorization that connection_init's payload gave (it wins over the upgrade's header, which
 * browsers cannot set). Every field of the node request is read through it, so the context factory
 * and the plugins need no WebSocket case.
 */
function requestView(req: IncomingMessage, authorization: string | undefined): IncomingMessage {
  const headers = { ...req.headers };
  if (authorization !== undefined) headers.authorization = authorization;
  return Object.create(req, { headers: { value: headers, enumerable: true } }) as IncomingMessage;
}

/** A result's errors as JSON, without the internal `http` extension (as the HTTP entries send them). */
function formatErrors(errors: readonly GraphQLError[]): GraphQLFormattedError[] {
  return errors.map((error) => {
    const json = error.toJSON();
    if (json.extensions === undefined || !('http' in json.extensions)) return json;
    const { http: _http, ...rest } = json.extensions as Record<string, unknown>;
    return Object.keys(rest).length > 0 ? { ...json, extensions: rest } : { ...json, extensions: undefined };
  });
}

const isPromise = (v: unknown): v is PromiseLike<unknown> =>
  typeof (v as { then?: unknown } | null)?.then === 'function';

/**
 * GraphQL over WebSocket (the `graphql-transport-ws` protocol of graphql-ws) on the path of
 * /graphql, driven by yoga's envelop pipeline the way yoga documents for graphql-ws: each operation
 * is parsed, validated, given its context and executed or subscribed through `getEnveloped`, so
 * every limit, masking, the request scope (log line and metrics) and tracing apply as to a POST,
 * and subscriptions go to the same ticket feed (its caps count every transport's streams together).
 * The session comes from connection_init's payload (`authorization`) or the upgrade's Authorization
 * header; without one an operation that needs it fails with UNAUTHENTICATED and ZStack is not asked.
 */
export function createWebSocketEntry(options: WebSocketEntryOptions) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxMessageBytes,
    // No compression: a small compressed message must not inflate into a large one here.
    perMessageDeflate: false,
    handleProtocols: (protocols) => handleProtocols(protocols) || false,
    // The HTTP layer checked the Origin (CORS_ORIGINS, PUBLIC_ORIGINS) before the upgrade.
    clientTracking: false,
  });
  const sockets = new Set<SocketState>();
  let draining = false;
  let idleWaiters: (() => void)[] = [];

  function operationEnded(state: SocketState, id: string, aborted: boolean): void {
    const op = state.operations.get(id);
    if (op === undefined) return;
    state.operations.delete(id);
    if (!op.scope.ended) {
      op.scope.ended = true;
      options.onOperationEnd(op.scope, aborted);
    }
    // Draining: a socket closes once its last operation has been answered. graphql-ws sends an
    // operation's last message (complete, error) after this hook returns: the close frame follows it.
    if (draining && state.operations.size === 0)
      setImmediate(() => {
        if (state.operations.size === 0) closeGoingAway(state);
      });
  }

  function closeGoingAway(state: SocketState): void {
    if (state.ws.readyState === state.ws.OPEN) state.ws.close(1001, 'Going away');
  }

  const server = makeServer<Record<string, unknown> | undefined, { state: SocketState }>({
    connectionInitWaitTimeout: options.connectionInitTimeoutMs,
    onConnect(ctx) {
      const { state } = ctx.extra;
      const authorization = authorizationOf(ctx.connectionParams);
      if (authorization !== undefined) state.view = requestView(state.view, authorization);
      return true;
    },
    async onSubscribe(ctx, id, payload) {
      const { state } = ctx.extra;
      const session = sessionFromHeader(state.view.headers.authorization);
      const scope = new RequestScope(`${state.id}#${++state.counter}`, session, '/graphql');
      scope.entry = 'websocket';
      if (state.operations.size >= options.maxOperationsPerSocket) {
        const error = new GraphQLError(
          `This socket already runs ${options.maxOperationsPerSocket} operations (WS_MAX_OPERATIONS_PER_SOCKET): complete one before starting another.`,
          {
            extensions: {
              code: ErrorCode.WEBSOCKET_LIMIT_EXCEEDED,
              scope: 'operations',
              limit: options.maxOperationsPerSocket,
            },
          },
        );
        scope.noteErrors([error]);
        scope.ended = true;
        options.onOperationEnd(scope, false);
        return [error];
      }
      const view = Object.create(state.view) as IncomingMessage;
      attachScope(view, scope);
      const signal = new CloseSignal();
      state.operations.set(id, { scope, signal });

      let params: SubscribeParams | GraphQLError = payload;
      if (options.persisted !== undefined) {
        const resolved = options.persisted.resolve(payload as SubscribeParams);
        params = isPromise(resolved) ? await resolved : resolved;
      }
      if (params instanceof GraphQLError) {
        scope.noteErrors([params]);
        return [params];
      }
      if (typeof params.query !== 'string' || params.query === '') {
        const error = new GraphQLError('Must provide a "query" string.', {
          extensions: { code: ErrorCode.BAD_REQUEST },
        });
        scope.noteErrors([error]);
        return [error];
      }
      const enveloped = options.getEnveloped({ req: view, sink: state.sink, signal, params });
      let document: ReturnType<Enveloped['parse']>;
      try {
        document = enveloped.parse(params.query);
      } catch (error) {
        // The scope plugin noted it already.
        return [maskError(error) as GraphQLError];
      }
      const errors = enveloped.validate(enveloped.schema, document);
      if (errors.length > 0) return [...errors];
      let contextValue = enveloped.contextFactory();
      if (isPromise(contextValue)) contextValue = await contextValue;
      return {
        schema: enveloped.schema,
        document,
        operationName: params.operationName,
        variableValues: params.variables,
        contextValue: contextValue as Record<string, unknown>,
        rootValue: { enveloped },
      };
    },
    execute: (args) => (args.rootValue as { enveloped: Enveloped }).enveloped.execute(args as never) as never,
    subscribe: (args) =>
      (args.rootValue as { enveloped: Enveloped & { subscribe(a: unknown): unknown } }).enveloped.subscribe(
        args,
      ) as never,
    onNext(_ctx, _id, _payload, _args, result: ExecutionResult) {
      if (result.errors === undefined) return undefined;
      return { ...result, errors: formatErrors(result.errors) } as never;
    },
    onError(ctx, id, _payload, errors) {
      // graphql-ws wraps what a stream threw in a new GraphQLError: the code is on the one inside.
      const masked = errors.map(
        (e) => maskError(e.originalError instanceof GraphQLError ? e.originalError : e) as GraphQLError,
      );
      const op = ctx.extra.state.operations.get(id);
      if (op !== undefined && op.scope.errors === 0) op.scope.noteErrors(masked);
      // The operation ends with this message (the protocol sends no complete after an error).
      queueMicrotask(() => operationEnded(ctx.extra.state, id, false));
      return formatErrors(masked);
    },
    onComplete(ctx, id) {
      operationEnded(ctx.extra.state, id, false);
    },
  });

  /** Pings every socket; one that did not answer the previous ping is gone (terminated). */
  const pinger =
    options.pingIntervalMs > 0
      ? setInterval(() => {
          for (const state of sockets) {
            if (!state.alive) {
              state.ws.terminate();
              continue;
            }
            state.alive = false;
            state.ws.ping();
          }
        }, options.pingIntervalMs)
      : undefined;
  pinger?.unref();

  function opened(ws: WebSocket, req: IncomingMessage, id: string): void {
    const state: SocketState = {
      ws,
      id,
      view: requestView(req, undefined),
      sink: {
        buffered: () => ws.bufferedAmount,
        // A client that does not read loses its socket (all its operations), as an SSE one its response.
        cut: () => ws.terminate(),
      },
      operations: new Map(),
      counter: 0,
      alive: true,
    };
    sockets.add(state);
    ws.on('pong', () => {
      state.alive = true;
    });
    // ws reports protocol faults (a message over maxPayload, bad frames) here and closes the socket.
    ws.on('error', () => ws.terminate());
    const closed = server.opened(
      {
        protocol: ws.protocol,
        send: (data) =>
          new Promise<void>((resolve) => {
            if (ws.readyState !== ws.OPEN) return resolve();
            ws.send(data, () => resolve());
          }),
        close: (code, reason) => ws.close(code, reason),
        onMessage: (cb) =>
          ws.on('message', (data, isBinary) => {
            if (isBinary) {
              ws.close(CloseCode.BadRequest, 'Send text messages');
              return;
            }
            cb(String(data)).catch((error: unknown) => {
              options.onInternalError(error);
              ws.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      { state },
    );
    ws.once('close', (code, reason) => {
      sockets.delete(state);
      for (const [opId, op] of [...state.operations]) {
        op.signal.abort();
        operationEnded(state, opId, true);
      }
      void closed(code, String(reason)).catch(options.onInternalError);
      if (sockets.size === 0 && idleWaiters.length > 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const w of waiters) w();
      }
    });
    if (draining) closeGoingAway(state);
  }

  return {
    /** Open sockets. */
    get size(): number {
      return sockets.size;
    },
    /** Whether one more socket may open (WS_MAX_SOCKETS). */
    hasRoom(): boolean {
      return sockets.size < options.maxSockets;
    },
    /** Completes the upgrade of a request the HTTP layer accepted. */
    upgrade(req: IncomingMessage, socket: Socket, head: Buffer, id: string): void {
      wss.handleUpgrade(req, socket, head, (ws) => opened(ws, req, id));
    },
    /**
     * Shutdown has begun: every socket closes with 1001 once its operations have been answered (the
     * feed's drain completes every subscription), at once when it has none.
     */
    drain(): void {
      draining = true;
      for (const state of sockets) if (state.operations.size === 0) closeGoingAway(state);
    },
    /** Resolves once no socket is open. */
    idle(): Promise<void> {
      if (sockets.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    /** The grace period is over: every socket still open is cut. */
    terminate(): void {
      for (const state of sockets) state.ws.terminate();
    },
    close(): void {
      if (pinger !== undefined) clearInterval(pinger);
      for (const state of sockets) state.ws.terminate();
      wss.close();
    },
  };
}

export type WebSocketEntry = ReturnType<typeof createWebSocketEntry>;
