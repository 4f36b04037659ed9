import { GraphQLError, Kind } from 'graphql';
import { ErrorCode, unrepresentable } from '../errors.js';
import { builder } from './builder.js';
import { jsonFromLiteral, jsonShapeProblem } from './json-value.js';

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function parseInstant(value: unknown): Date {
  if (typeof value !== 'string' || !ISO_INSTANT.test(value)) {
    throw new GraphQLError(
      'DateTime must be an ISO-8601 instant with a zone, e.g. 2017-06-07T13:20:28.000Z',
      {
        extensions: { code: ErrorCode.BAD_USER_INPUT },
      },
    );
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new GraphQLError(`Not a valid DateTime: ${value}`, {
      extensions: { code: ErrorCode.BAD_USER_INPUT },
    });
  }
  return date;
}

builder.scalarType('DateTime', {
  description:
    'An instant as ISO-8601 in UTC with milliseconds, e.g. 2017-06-07T13:20:28.000Z. ZStack sends zone-less Java ' +
    "date strings; the gateway reads them in the management node's time zone.",
  serialize: (value) => {
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new Error('DateTime: not a Date');
    return value.toISOString();
  },
  parseValue: parseInstant,
  parseLiteral: (ast) => parseInstant(ast.kind === Kind.STRING ? ast.value : undefined),
});

/**
 * The deepest JSON this gateway hands on from ZStack: the answer is serialized recursively
 * (JSON.stringify), so a pathological value fails its own field instead of the whole answer.
 */
export const MAX_OUTPUT_JSON_DEPTH = 1000;

const TOO_DEEP = `JSON nested deeper than ${MAX_OUTPUT_JSON_DEPTH} levels`;

/**
 * A JSON value from ZStack for a JSON field, null when absent: nested deeper than
 * MAX_OUTPUT_JSON_DEPTH it is that field's UPSTREAM_ERROR (a ticket made in ZStack directly is not
 * bounded by JSON_MAX_DEPTH). Checked in the resolver, where the error keeps its code whichever
 * executor runs (graphql-jit reports a scalar's failure by its message alone).
 */
export function upstreamJson(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (jsonShapeProblem(value, MAX_OUTPUT_JSON_DEPTH, Number.POSITIVE_INFINITY) !== undefined)
    throw unrepresentable(`${TOO_DEEP}.`);
  return value;
}

builder.scalarType('JSON', {
  description:
    'Free-form JSON exactly as ZStack holds it (objects, lists, numbers; whole numbers that ZStack renders as 1.0 arrive as 1).',
  specifiedByURL: 'http://www.ecma-international.org/publications/files/ECMA-ST/ECMA-404.pdf',
  serialize: (value) => {
    if (jsonShapeProblem(value, MAX_OUTPUT_JSON_DEPTH, Number.POSITIVE_INFINITY) !== undefined)
      throw unrepresentable(`${TOO_DEEP}.`);
    return value;
  },
  // Depth and size are bounded before execution (src/plugins/input-limits.ts, JSON_MAX_DEPTH/BYTES).
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => jsonFromLiteral(ast, variables),
});
