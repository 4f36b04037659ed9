import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getIntrospectionQuery, graphqlSync } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('schema.graphql', () => {
  it('matches the Pothos schema (run `npm run schema:print` when this fails)', () => {
    const run = () =>
      execFileSync(process.execPath, ['--import', 'tsx', 'scripts/print-schema.ts', '--check'], {
        cwd: root,
        stdio: 'pipe',
      });
    expect(run).not.toThrow();
  });

  it('describes every type, field, argument and enum value', () => {
    const result = graphqlSync({ schema, source: getIntrospectionQuery() });
    const missing: string[] = [];
    // biome-ignore lint/suspicious/noExplicitAny: walking the introspection JSON
    for (const type of (result.data as any).__schema.types) {
      if (type.name.startsWith('__') || ['String', 'Boolean', 'Int', 'Float', 'ID'].includes(type.name))
        continue;
      if (!type.description) missing.push(type.name);
      for (const field of [...(type.fields ?? []), ...(type.inputFields ?? [])]) {
        if (!field.description) missing.push(`${type.name}.${field.name}`);
        for (const arg of field.args ?? [])
          if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
      }
      for (const value of type.enumValues ?? [])
        if (!value.description) missing.push(`${type.name}.${value.name}`);
    }
    expect(missing).toEqual([]);
  });

  it('TicketStatusHistory.sequence says what real ZStack sends: one table-wide AUTO_INCREMENT counter, not 1..n per ticket (issue 25, D2; V4.0.0 migration)', () => {
    const history = schema.getType('TicketStatusHistory');
    const fields =
      history && 'getFields' in history
        ? (history.getFields() as Record<string, { description?: string | null }>)
        : {};
    const text = fields.sequence?.description ?? '';
    expect(text).toMatch(/one counter for its whole history table/);
    expect(text).toMatch(/neither numbered from 1/);
    const from = fields.fromStatus?.description ?? '';
    expect(from).not.toMatch(/null for the row written when the ticket was created/);
  });
});
