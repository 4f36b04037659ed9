import { type DocumentNode, type GraphQLError, Kind, visit } from 'graphql';
import { badInput } from '../errors.js';
import { jsonShapeProblem } from '../schema/json-value.js';

export interface InputLimits {
  /** Deepest nesting of objects and lists in one input value (JSON_MAX_DEPTH). */
  maxDepth: number;
  /** Largest input value as JSON text (JSON_MAX_BYTES). */
  maxBytes: number;
}

/**
 * BAD_USER_INPUT when a variable's value, or a list or object literal in the document, nests
 * deeper than `maxDepth` or a variable's value is larger than `maxBytes`; undefined when all fit.
 * Runs before execution, so JSON scalars (apiBody, accountSystemContext, ...) never carry a value
 * that a recursive serializer downstream (JSON.stringify to ZStack) could choke on.
 */
export function checkInputValues(
  document: DocumentNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  limits: InputLimits,
): GraphQLError | undefined {
  for (const name of Object.keys(variables ?? {})) {
    const problem = jsonShapeProblem(variables?.[name], limits.maxDepth, limits.maxBytes);
    if (problem?.kind === 'depth')
      return badInput(`$${name} is nested deeper than ${problem.limit} levels.`, name);
    if (problem?.kind === 'bytes') return badInput(`$${name} is larger than ${problem.limit} bytes.`, name);
  }
  const deepest = literalDepth(document);
  if (deepest > limits.maxDepth)
    return badInput(`An argument value is nested deeper than ${limits.maxDepth} levels.`);
  return undefined;
}

/** The deepest list/object literal nesting of each document seen (a document is immutable). */
const literalDepths = new WeakMap<DocumentNode, number>();

function literalDepth(document: DocumentNode): number {
  const known = literalDepths.get(document);
  if (known !== undefined) return known;
  // graphql-js's visit keeps its own stack: no recursion on the client's document.
  let depth = 0;
  let deepest = 0;
  const nest = {
    enter() {
      depth++;
      if (depth > deepest) deepest = depth;
    },
    leave() {
      depth--;
    },
  };
  visit(document, { [Kind.LIST]: nest, [Kind.OBJECT]: nest });
  literalDepths.set(document, deepest);
  return deepest;
}
