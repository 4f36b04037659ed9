import {
  BREAK,
  type DocumentNode,
  type FragmentDefinitionNode,
  Kind,
  type OperationDefinitionNode,
  type SelectionNode,
  visit,
} from 'graphql';

/** graphql-armor's cost-limit weights (its defaults, which the gateway uses unchanged). */
const OBJECT_COST = 2;
const SCALAR_COST = 1;
const DEPTH_FACTOR = 1.5;

/** One selection set being summed: its own weight, the sum of its children so far, its page size. */
interface Frame {
  selections: readonly SelectionNode[];
  next: number;
  sum: number;
  multiplier: number;
  /** Children count DEPTH_FACTOR times (every set but the operation's own). */
  factor: number;
  /** Set when this frame is a fragment's definition reached through a spread. */
  fragment?: string;
}

/** The operation's variables' whole-number defaults (`$n: Int = 500`), by name. */
function intDefaults(operation: OperationDefinitionNode): Map<string, number> {
  const defaults = new Map<string, number>();
  for (const definition of operation.variableDefinitions ?? []) {
    const value = definition.defaultValue;
    if (value?.kind === Kind.INT)
      defaults.set(definition.variable.name.value, Number.parseInt(value.value, 10));
  }
  return defaults;
}

/** The arguments that say how many objects a field returns: page sizes, and `ids` of `nodes(ids:)`. */
const SIZE_ARGUMENTS = new Set(['first', 'last', 'ids']);

/**
 * `first` or `last` of a field, or the length of its `ids` list, with variables resolved (a
 * variable the request leaves out takes its default, as execution does); 1 when absent or not a
 * positive whole number.
 */
function multiplierOf(
  node: SelectionNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  defaults: ReadonlyMap<string, number>,
): number {
  if (node.kind !== Kind.FIELD) return 1;
  for (const arg of node.arguments ?? []) {
    if (!SIZE_ARGUMENTS.has(arg.name.value)) continue;
    let value: unknown;
    if (arg.value.kind === Kind.INT) value = Number.parseInt(arg.value.value, 10);
    else if (arg.value.kind === Kind.LIST) value = arg.value.values.length;
    else if (arg.value.kind === Kind.VARIABLE) {
      const name = arg.value.name.value;
      value = variables != null && Object.hasOwn(variables, name) ? variables[name] : defaults.get(name);
      if (Array.isArray(value)) value = value.length;
    }
    return typeof value === 'number' && Number.isFinite(value) ? Math.max(value, 1) : 1;
  }
  return 1;
}

/**
 * graphql-armor's cost of an operation (its cost-limit formula and default weights, fragments
 * not flattened, introspection counted), with `first`/`last` read from the variables too, so
 * `first: $n` costs what `first: <n>` does. Iterative: no recursion on a client's document.
 * The document must have passed validation (no fragment cycles).
 */
export function operationCost(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions)
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  /** A fragment's own cost is the same wherever it is spread (armor's memo). */
  const fragmentCost = new Map<string, number>();
  const defaults = intDefaults(operation);
  const stack: Frame[] = [
    { selections: operation.selectionSet.selections, next: 0, sum: 0, multiplier: 1, factor: 1 },
  ];
  let total = 0;
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    const child = frame.selections[frame.next++];
    if (child === undefined) {
      stack.pop();
      const own = stack.length === 0 ? frame.sum : (OBJECT_COST + frame.sum) * frame.multiplier;
      let cost = own;
      if (frame.fragment !== undefined) {
        fragmentCost.set(frame.fragment, own);
        cost = SCALAR_COST + DEPTH_FACTOR * own;
      }
      const parent = stack[stack.length - 1];
      if (parent === undefined) total = cost;
      else parent.sum += parent.factor * cost;
      continue;
    }
    if (child.kind === Kind.FRAGMENT_SPREAD) {
      const name = child.name.value;
      const known = fragmentCost.get(name);
      const definition = fragments.get(name);
      if (known !== undefined) frame.sum += frame.factor * (SCALAR_COST + DEPTH_FACTOR * known);
      else if (definition === undefined) frame.sum += frame.factor * SCALAR_COST;
      else
        stack.push({
          selections: definition.selectionSet.selections,
          next: 0,
          sum: 0,
          multiplier: 1,
          factor: DEPTH_FACTOR,
          fragment: name,
        });
      continue;
    }
    if (child.selectionSet === undefined) {
      frame.sum += frame.factor * SCALAR_COST;
      continue;
    }
    stack.push({
      selections: child.selectionSet.selections,
      next: 0,
      sum: 0,
      multiplier: multiplierOf(child, variables, defaults),
      factor: DEPTH_FACTOR,
    });
  }
  return total;
}

/** Per document and operation name: its cost when no variable decides it, else null. */
const fixedCosts = new WeakMap<DocumentNode, Map<string, number | null>>();

/** Whether a size argument (`first`/`last`/`ids`) anywhere in the document is given as a variable. */
function pageSizeFromVariables(document: DocumentNode): boolean {
  let found = false;
  // graphql-js's visit keeps its own stack: no recursion on the client's document.
  visit(document, {
    Argument(node) {
      if (SIZE_ARGUMENTS.has(node.name.value) && node.value.kind === Kind.VARIABLE) {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/**
 * operationCost, computed once per document and operation when no variable can change it (the
 * document is immutable and yoga's parse cache hands back the same object for the same text).
 */
export function cachedOperationCost(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): number {
  let costs = fixedCosts.get(document);
  if (costs === undefined) {
    costs = new Map();
    fixedCosts.set(document, costs);
  }
  const key = operation.name?.value ?? '';
  let fixed = costs.get(key);
  if (fixed === undefined) {
    fixed = pageSizeFromVariables(document) ? null : operationCost(document, operation, undefined);
    costs.set(key, fixed);
  }
  return fixed ?? operationCost(document, operation, variables);
}
