import { Kind, type ValueNode } from 'graphql';

/** What is wrong with a JSON value's shape, if anything. */
export type JsonShapeProblem = { kind: 'depth'; limit: number } | { kind: 'bytes'; limit: number };

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
  let bytes = 0;
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; depth: number };
    const v = item.value;
    if (typeof v === 'string') bytes += v.length + 2;
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint')
      bytes += String(v).length;
    else if (v === null || v === undefined) bytes += 4;
    else if (typeof v === 'object') {
      const depth = item.depth + 1;
      if (depth > maxDepth) return { kind: 'depth', limit: maxDepth };
      bytes += 2;
      if (Array.isArray(v)) {
        for (const element of v) {
          bytes += 1;
          stack.push({ value: element, depth });
        }
      } else {
        for (const key in v) {
          if (!Object.hasOwn(v, key)) continue;
          bytes += key.length + 4;
          stack.push({ value: (v as Record<string, unknown>)[key], depth });
        }
      }
    }
    if (bytes > maxBytes) return { kind: 'bytes', limit: maxBytes };
  }
  return undefined;
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
