import type { ErrorCode, TypedDocumentString } from './gql/graphql.js';

export interface GatewayClientOptions {
  /** The gateway's GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  /** Send only the document's sha256 hash (the gateway must run with PERSISTED_OPERATIONS_FILE). */
  persisted?: boolean;
}

/**
 * An error as the gateway sends it: `code` is one of the schema's `ErrorCode` values (generated
 * with the operations' types, so a switch over it is checked), the other extensions per code.
 */
export interface GatewayGraphQLError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: ErrorCode; [extension: string]: unknown };
}

export class GatewayError extends Error {
  override name = 'GatewayError';
  constructor(
    message: string,
    readonly errors: readonly GatewayGraphQLError[],
  ) {
    super(message);
  }

  /** The first error's code, if the gateway sent one. */
  get code(): ErrorCode | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

/** A typed GraphQL client: results and variables are typed by the codegen document. */
export function createGatewayClient(options: GatewayClientOptions) {
  let session: string | undefined;
  return {
    /** Sent as `Authorization: OAuth <session>` from now on. */
    setSession(uuid: string | undefined): void {
      session = uuid;
    },
    async execute<TResult, TVariables>(
      document: TypedDocumentString<TResult, TVariables>,
      variables: TVariables,
    ): Promise<TResult> {
      const hash: unknown = document.__meta__?.hash;
      if (options.persisted && typeof hash !== 'string') throw new Error('document has no persisted hash');
      const body = options.persisted
        ? { variables, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }
        : { query: document.toString(), variables };
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
      };
      if (session) headers.authorization = `OAuth ${session}`;
      const res = await fetch(options.url, { method: 'POST', headers, body: JSON.stringify(body) });
      const payload = (await res.json()) as { data?: TResult | null; errors?: GatewayGraphQLError[] };
      if (payload.errors?.length || !payload.data) {
        const first = payload.errors?.[0];
        throw new GatewayError(
          `${first?.extensions?.code ?? `HTTP ${res.status}`}: ${first?.message ?? 'no data'}`,
          payload.errors ?? [],
        );
      }
      return payload.data;
    },
  };
}
