import type { Plugin } from 'graphql-yoga';

type OnParse = NonNullable<Plugin['onParse']>;
type OnValidate = NonNullable<Plugin['onValidate']>;
type OnExecute = NonNullable<Plugin['onExecute']>;
type ParsePayload = Parameters<OnParse>[0];
type ValidatePayload = Parameters<OnValidate>[0];
type ExecutePayload = Parameters<OnExecute>[0];
type AfterParse = Exclude<ReturnType<OnParse>, void>;
type AfterValidate = Exclude<ReturnType<OnValidate>, void>;
type ExecuteHooks = Exclude<Awaited<ReturnType<OnExecute>>, void>;
type OnExecuteDone = NonNullable<ExecuteHooks['onExecuteDone']>;
type ExecuteDonePayload = Parameters<OnExecuteDone>[0];
type StreamHooks = Exclude<Awaited<ReturnType<OnExecuteDone>>, void>;

/**
 * The after-hooks one request collected, as one: the same hooks as the request before (each
 * part's after-hook is usually made once, not per request) give back the same function, so a
 * request allocates nothing for them.
 */
class AfterList<T, C> {
  private last: T[] = [];
  private lastCombined: C | undefined = undefined;
  /**
   * The hooks of the request being collected (filled and read synchronously), written by index and
   * emptied slot by slot: setting an array's length to 0 would drop its storage, to be made again.
   */
  private readonly scratch: (T | undefined)[] = [];
  private count = 0;
  constructor(private readonly combine: (hooks: readonly T[]) => C) {}

  /** Starts a request's list (a hook that threw may have left one half collected). */
  begin(): void {
    this.clear();
  }

  push(hook: T): void {
    this.scratch[this.count++] = hook;
  }

  /** The collected hooks as one (undefined for none, the hook itself for one); resets the list. */
  take(): T | C | undefined {
    const scratch = this.scratch;
    const n = this.count;
    if (n === 0) return undefined;
    if (n === 1) {
      const only = scratch[0] as T;
      this.clear();
      return only;
    }
    const last = this.last;
    let same = last.length === n && this.lastCombined !== undefined;
    for (let i = 0; same && i < n; i++) same = last[i] === scratch[i];
    if (!same) {
      this.last = scratch.slice(0, n) as T[];
      this.lastCombined = this.combine(this.last);
    }
    this.clear();
    return this.lastCombined;
  }

  /** Empties the list, keeping no request's hook. */
  private clear(): void {
    for (let i = 0; i < this.count; i++) this.scratch[i] = undefined;
    this.count = 0;
  }
}

/**
 * Our envelop plugins' onParse, onValidate and onExecute hooks as one plugin's, called in the
 * parts' order, followed by the parts' other hooks unchanged (in their order): envelop allocates a
 * payload and its callbacks per hook and request, and for onExecute a promise-like chain per hook,
 * so one hook in place of several is that much less per request. The merged list goes where the
 * parts went: every hook kind still runs in the order it ran, before and after the plugins around.
 *
 * Semantics are envelop's for parts that, as ours, (1) are synchronous in these three hooks,
 * (2) do not read a function an earlier part set (`parseFn`, `validateFn`, `executeFn`: each part
 * sees the one the merged hook was given) and (3) never replace a result in an after-hook
 * (`replaceParseResult`, `setResult` after validation or execution). A part's
 * `setResultAndStopExecution` stops the later parts' onExecute, as envelop's does.
 */
export function mergeHooks(parts: readonly Plugin[]): Plugin[] {
  const parse: OnParse[] = [];
  const validate: OnValidate[] = [];
  const execute: OnExecute[] = [];
  const rest: Plugin[] = [];
  for (const part of parts) {
    const { onParse, onValidate, onExecute, ...others } = part;
    if (onParse) parse.push(onParse);
    if (onValidate) validate.push(onValidate);
    if (onExecute) execute.push(onExecute);
    if (Object.keys(others).length > 0) rest.push(others as Plugin);
  }
  const merged: Plugin = {};
  if (parse.length > 0) merged.onParse = mergeSync<ParsePayload, AfterParse>(parse) as OnParse;
  if (validate.length > 0)
    merged.onValidate = mergeSync<ValidatePayload, AfterValidate>(validate) as OnValidate;
  if (execute.length > 0) merged.onExecute = mergeExecute(execute);
  return [merged, ...rest];
}

/**
 * Parse or validate hooks as one: each part runs in order, and the after-hooks they return run as one
 * (in the same order). Both kinds are synchronous and only read their after-payload.
 */
function mergeSync<P, A extends (payload: never) => void>(
  hooks: readonly ((payload: P) => unknown)[],
): (payload: P) => unknown {
  if (hooks.length === 1) return hooks[0] as (payload: P) => unknown;
  const afters = new AfterList<A, A>(
    (list) =>
      ((payload: Parameters<A>[0]) => {
        for (const after of list) after(payload);
      }) as A,
  );
  return (payload: P): A | undefined => {
    afters.begin();
    for (const hook of hooks) {
      const after = hook(payload) as A | undefined;
      if (after) afters.push(after);
    }
    return afters.take();
  };
}

function mergeStreamHooks(list: StreamHooks[]): StreamHooks | undefined {
  const next = list.flatMap((h) => (h.onNext ? [h.onNext] : []));
  const end = list.flatMap((h) => (h.onEnd ? [h.onEnd] : []));
  if (next.length === 0 && end.length === 0) return undefined;
  return {
    onNext:
      next.length === 0
        ? undefined
        : (payload) => {
            for (const onNext of next) onNext(payload);
          },
    onEnd:
      end.length === 0
        ? undefined
        : () => {
            for (const onEnd of end) onEnd();
          },
  };
}

function mergeExecute(hooks: OnExecute[]): OnExecute {
  if (hooks.length === 1) return hooks[0] as OnExecute;
  const afters = new AfterList<ExecuteHooks, ExecuteHooks>((list) => {
    const done = list.flatMap((h) => (h.onExecuteDone ? [h.onExecuteDone] : []));
    return {
      onExecuteDone(payload: ExecuteDonePayload) {
        let streams: StreamHooks[] | undefined;
        for (const onDone of done) {
          const out = onDone(payload) as StreamHooks | undefined;
          if (!out) continue;
          if (streams === undefined) streams = [out];
          else streams.push(out);
        }
        return streams === undefined ? undefined : mergeStreamHooks(streams);
      },
    };
  });
  return (payload: ExecutePayload) => {
    // A part that answers in execution's place stops the later parts' onExecute, as in envelop.
    afters.begin();
    let stopped = false;
    const view: ExecutePayload = {
      ...payload,
      setResultAndStopExecution(result) {
        stopped = true;
        payload.setResultAndStopExecution(result);
      },
    };
    for (const hook of hooks) {
      const out = hook(view) as ExecuteHooks | undefined;
      if (out) afters.push(out);
      if (stopped) break;
    }
    return afters.take();
  };
}
