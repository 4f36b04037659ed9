import { Kind, type ValueNode } from 'graphql';

/** What is wrong with a JSON value's shape, if anything. */
export type JsonShapeProblem = { kind: 'depth'; limit: number } | { kind: 'bytes'; limit: number };

/**
 * The walk's stack, two parallel arrays kept between calls (with their capacity: they are only
 * ever written by index), so a JSON node costs no allocation: the answer's JSON fields are checked
 * on every response. Each slot is cleared as it is taken, and what is left when a walk stops early
 * is cleared then, so no value is kept.
 */
const shared = { values: [] as unknown[], depths: [] as number[], busy: false };
const MAX_KEPT_STACK = 4096;

/**
 * Whether `value` nests deeper than `maxDepth` containers or would take more than `maxBytes` as
 * JSON text (counted approximately: strings by their length, never over-counting escapes as less).
 * Iterative with an explicit stack, and stops at the first limit passed, so a value of any depth
 * or size costs at most the limits' worth of work.
 */
export function jsonShapeProblem(
  value: unknown,
  maxDepth: number,
  maxBytes: number,
): JsonShapeProblem | undefined {
  // Never re-entered (nothing here calls out), but a fresh stack would be as correct.
  if (shared.busy) return walk(value, maxDepth, maxBytes, [], []);
  shared.busy = true;
  try {
    return walk(value, maxDepth, maxBytes, shared.values, shared.depths);
  } finally {
    shared.busy = false;
    // A very wide value's stack is not kept for the life of the process.
    if (shared.values.length > MAX_KEPT_STACK) {
      shared.values = [];
      shared.depths = [];
    }
  }
}

function walk(
  value: unknown,
  maxDepth: number,
  maxBytes: number,
  values: unknown[],
  depths: number[],
): JsonShapeProblem | undefined {
  // Without a byte limit (the answer's values) nothing is counted, and no number is turned to text.
  const counting = maxBytes !== Number.POSITIVE_INFINITY;
  let bytes = 0;
  let top = 0;
  values[top] = value;
  depths[top] = 0;
  top++;
  let problem: JsonShapeProblem | undefined;
  while (top > 0) {
    top--;
    const v = values[top];
    values[top] = undefined;
    const parentDepth = depths[top] as number;
    if (typeof v === 'string') bytes += v.length + 2;
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') {
      if (counting) bytes += String(v).length;
    } else if (v === null || v === undefined) bytes += 4;
    else if (typeof v === 'object') {
      const depth = parentDepth + 1;
      if (depth > maxDepth) {
        problem = { kind: 'depth', limit: maxDepth };
        break;
      }
      bytes += 2;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          bytes += 1;
          values[top] = v[i];
          depths[top] = depth;
          top++;
        }
      } else {
        for (const key in v) {
          if (!Object.hasOwn(v, key)) continue;
          bytes += key.length + 4;
          values[top] = (v as Record<string, unknown>)[key];
          depths[top] = depth;
          top++;
        }
      }
    }
    if (bytes > maxBytes) {
      problem = { kind: 'bytes', limit: maxBytes };
      break;
    }
  }
  for (let i = 0; i < top; i++) values[i] = undefined;
  return problem;
}

/**
 * A GraphQL literal as a plain JSON value (variables substituted, absent ones as undefined), built
 * with an explicit stack: a literal is client data and may nest as deep as the token limit allows.
 */
export function jsonFromLiteral(
  ast: ValueNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): unknown {
  const root: { value: unknown } = { value: undefined };
  const stack: { node: ValueNode; assign: (v: unknown) => void }[] = [
    { node: ast, assign: (v) => (root.value = v) },
  ];
  while (stack.length > 0) {
    const { node, assign } = stack.pop() as (typeof stack)[number];
    switch (node.kind) {
      case Kind.STRING:
      case Kind.ENUM:
        assign(node.value);
        break;
      case Kind.BOOLEAN:
        assign(node.value);
        break;
      case Kind.INT:
      case Kind.FLOAT:
        assign(Number.parseFloat(node.value));
        break;
      case Kind.NULL:
        assign(null);
        break;
      case Kind.VARIABLE:
        assign(variables?.[node.name.value]);
        break;
      case Kind.LIST: {
        const list: unknown[] = new Array(node.values.length);
        assign(list);
        node.values.forEach((child, i) => {
          stack.push({ node: child, assign: (v) => (list[i] = v) });
        });
        break;
      }
      case Kind.OBJECT: {
        const object: Record<string, unknown> = Object.create(null);
        assign(object);
        for (const field of node.fields) {
          stack.push({ node: field.value, assign: (v) => (object[field.name.value] = v) });
        }
        break;
      }
    }
  }
  return root.value;
}
