import { envelop, useEngine, useSchema } from '@envelop/core';
import { execute, parse, specifiedRules, subscribe, validate } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { mergeHooks } from '../../src/plugins/merge-hooks.js';
import { schema } from '../../src/schema/index.js';

/** Three parts as ours are: hooks made once, one per-request after-hook, one that may stop execution. */
function parts(trace: string[]): Plugin[] {
  const aParsed = () => trace.push('A parsed');
  const aValidated = ({ valid }: { valid: boolean }) => trace.push(`A validated ${valid}`);
  const aDone = {
    onExecuteDone: () => {
      trace.push('A done');
    },
  };
  return [
    {
      onParse: () => {
        trace.push('A parse');
        return aParsed;
      },
      onValidate: () => {
        trace.push('A validate');
        return aValidated;
      },
      onExecute: ({ args, setResultAndStopExecution }) => {
        trace.push('A execute');
        if ((args.variableValues as { stop?: boolean } | undefined)?.stop)
          setResultAndStopExecution({ data: { stopped: true } });
        return aDone;
      },
    },
    {
      onParse: () => {
        trace.push('B parse');
      },
      onValidate: ({ params }) => {
        trace.push('B validate');
        const kind = params.documentAST.definitions[0]?.kind;
        return () => trace.push(`B validated ${kind}`);
      },
      onExecute: () => {
        trace.push('B execute');
        return {
          onExecuteDone: ({ result }) => {
            trace.push(`B done ${'data' in result}`);
          },
        };
      },
      onSubscribe: () => {
        trace.push('B subscribe');
      },
    },
    {
      onExecute: ({ executeFn, setExecuteFn }) => {
        trace.push('C execute');
        setExecuteFn((args) => {
          trace.push('C runs');
          return executeFn(args);
        });
      },
    },
  ];
}

function run(plugins: (trace: string[]) => Plugin[], variables: Record<string, unknown>) {
  const trace: string[] = [];
  const getEnveloped = envelop({
    plugins: [
      useEngine({ parse, validate, execute, subscribe, specifiedRules }),
      useSchema(schema),
      ...plugins(trace),
    ],
  });
  const e = getEnveloped({});
  const document = e.parse('{ __typename }');
  const errors = e.validate(e.schema, document);
  const result = e.execute({ schema: e.schema, document, contextValue: {}, variableValues: variables });
  return { trace, errors, result };
}

describe('mergeHooks', () => {
  it("runs the parts' hooks and after-hooks in envelop's order, a stop included", async () => {
    for (const variables of [{}, { stop: true }]) {
      const separate = run(parts, variables);
      const merged = run((trace) => mergeHooks(parts(trace)), variables);
      expect(await merged.result).toEqual(await separate.result);
      expect(merged.errors).toEqual(separate.errors);
      expect(merged.trace).toEqual(separate.trace);
    }
    expect(run((trace) => mergeHooks(parts(trace)), {}).trace).toEqual([
      'A parse',
      'B parse',
      'A parsed',
      'A validate',
      'B validate',
      'A validated true',
      'B validated OperationDefinition',
      'A execute',
      'B execute',
      'C execute',
      'C runs',
      'A done',
      'B done true',
    ]);
    const stopped = run((trace) => mergeHooks(parts(trace)), { stop: true });
    expect(await stopped.result).toEqual({ data: { stopped: true } });
    expect(stopped.trace).not.toContain('B execute');
  });

  it('keeps the other hooks as they were, and gives back the same after-hook for the same parts', () => {
    const merged = mergeHooks(parts([]));
    expect(merged).toHaveLength(2);
    expect(Object.keys(merged[1] ?? {})).toEqual(['onSubscribe']);
    const onParse = merged[0]?.onParse as (payload: unknown) => unknown;
    const first = onParse({});
    expect(typeof first).toBe('function');
    // Only A's after-hook: A's own, the same on every request.
    expect(onParse({})).toBe(first);
    const onExecute = merged[0]?.onExecute as (payload: unknown) => unknown;
    const payload = {
      args: {},
      setResultAndStopExecution: () => {},
      setExecuteFn: () => {},
      executeFn: () => {},
    };
    const done = onExecute(payload);
    expect(done).not.toBeUndefined();
    expect(onExecute(payload)).not.toBe(done); // B's onExecuteDone is made per request
  });
});
