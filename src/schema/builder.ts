import SchemaBuilder from '@pothos/core';
import type { Context } from '../context.js';

/** The one SchemaBuilder; type files add to it. Defines no domain types. */
export const builder = new SchemaBuilder<{
  Context: Context;
  Scalars: {
    ID: { Input: string; Output: string };
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
}>({ defaultFieldNullability: false });

builder.queryType({
  description:
    "Reads from ZStack. Every field needs the caller's session unless it says otherwise. A read that fails costs only its own field (null, with its error at its path): the others still arrive.",
});
builder.mutationType({
  description:
    'Writes to ZStack. Each mutation reaches ZStack at most once and is never retried by the gateway. Each is nullable: a write that fails is null, with its error at its path, and the writes after it in the same document still run and answer.',
});
