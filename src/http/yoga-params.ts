import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { badRequest } from './refusals.js';

const BAD_PARAMS = badRequest('The request parameters (variables or extensions) are not valid JSON.');

type RequestParser = NonNullable<Parameters<NonNullable<Plugin['onRequestParse']>>[0]['requestParser']>;

/**
 * For requests yoga's handler reads (GET, streams): yoga JSON.parses `variables`/`extensions` of a
 * GET unguarded, so a malformed value would surface as a masked INTERNAL_SERVER_ERROR; it is the
 * caller's mistake, answered as the JSON POST entry answers it: 400 BAD_REQUEST.
 */
export function guardRequestParams(): Plugin {
  const guard =
    (parser: RequestParser): RequestParser =>
    async (request) => {
      try {
        return await parser(request);
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
        throw createGraphQLError(BAD_PARAMS.message, {
          extensions: { code: BAD_PARAMS.code, http: { status: BAD_PARAMS.status } },
        });
      }
    };
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (requestParser) setRequestParser(guard(requestParser));
    },
  };
}
