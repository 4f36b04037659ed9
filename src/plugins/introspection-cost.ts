import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLSchema,
  type GraphQLType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { ErrorCode } from '../errors.js';

/**
 * What an introspection selection set is applied to, which decides how long the lists under it
 * are in this schema:
 * - `types`: every type of `__schema.types` at once (their lists sum to the schema's totals);
 * - `named`: one named type (`__type(name:)`, `queryType`, `interfaces`, …): lists as long as the longest;
 * - `ref<k>`: a field's or argument's type, wrapped at most k more times (`ofType` ends there);
 * - the other introspection objects, `fieldsOfTypes` being every field of every type at once.
 */
type Shape =
  | 'root'
  | 'schema'
  | 'types'
  | 'named'
  | `ref${number}`
  | 'fieldsOfTypes'
  | 'field'
  | 'inputValue'
  | 'enumValue'
  | 'directivesOfSchema';

/** How many entries of which shape one selected field yields per object it is selected on; undefined = a leaf. */
type Child = { per: number; shape: Shape } | undefined;

/** The sizes of one schema's introspection lists: totals over every type, and the longest single list. */
export interface SchemaSizes {
  types: number;
  directives: number;
  fields: { total: number; max: number };
  inputFields: { total: number; max: number };
  enumValues: { total: number; max: number };
  interfaces: { total: number; max: number };
  possibleTypes: { total: number; max: number };
  /** Arguments: over every field of every type, and of one field at most. */
  args: { total: number; max: number };
  directiveArgs: { total: number; max: number };
  /** The most List/NonNull wrappers a field's or argument's type has. */
  wrappers: number;
}

function wrappersOf(type: GraphQLType): number {
  let n = 0;
  let t: GraphQLType = type;
  while (isListType(t) || isNonNullType(t)) {
    n++;
    t = t.ofType;
  }
  return n;
}

const sizes = new WeakMap<GraphQLSchema, SchemaSizes>();

/** The schema's introspection list sizes, counted once per schema (it never changes). */
export function schemaSizes(schema: GraphQLSchema): SchemaSizes {
  const known = sizes.get(schema);
  if (known !== undefined) return known;
  const s: SchemaSizes = {
    types: 0,
    directives: 0,
    fields: { total: 0, max: 0 },
    inputFields: { total: 0, max: 0 },
    enumValues: { total: 0, max: 0 },
    interfaces: { total: 0, max: 0 },
    possibleTypes: { total: 0, max: 0 },
    args: { total: 0, max: 0 },
    directiveArgs: { total: 0, max: 0 },
    wrappers: 0,
  };
  const add = (to: { total: number; max: number }, n: number) => {
    to.total += n;
    to.max = Math.max(to.max, n);
  };
  for (const type of Object.values(schema.getTypeMap())) {
    s.types++;
    if (isObjectType(type) || isInterfaceType(type)) {
      const fields = Object.values(type.getFields());
      add(s.fields, fields.length);
      add(s.interfaces, type.getInterfaces().length);
      for (const field of fields) {
        add(s.args, field.args.length);
        s.wrappers = Math.max(
          s.wrappers,
          wrappersOf(field.type),
          ...field.args.map((a) => wrappersOf(a.type)),
        );
      }
    }
    if (isAbstractType(type)) add(s.possibleTypes, schema.getPossibleTypes(type).length);
    if (isInputObjectType(type)) {
      const fields = Object.values(type.getFields());
      add(s.inputFields, fields.length);
      for (const field of fields) s.wrappers = Math.max(s.wrappers, wrappersOf(field.type));
    }
    if (isEnumType(type)) add(s.enumValues, type.getValues().length);
  }
  for (const directive of schema.getDirectives()) {
    s.directives++;
    add(s.directiveArgs, directive.args.length);
    for (const arg of directive.args) s.wrappers = Math.max(s.wrappers, wrappersOf(arg.type));
  }
  sizes.set(schema, s);
  return s;
}

/** A list field of __Type: as long as the average over all types, or as the longest. */
function typeList(s: SchemaSizes, all: boolean, of: { total: number; max: number }, shape: Shape): Child {
  return { per: all ? of.total / Math.max(s.types, 1) : of.max, shape };
}

/** The entries a field of an object of `shape` yields, in this schema. */
function childOf(s: SchemaSizes, shape: Shape, field: string): Child {
  const ref = `ref${s.wrappers}` as const;
  switch (shape) {
    case 'root':
      if (field === '__schema') return { per: 1, shape: 'schema' };
      if (field === '__type') return { per: 1, shape: 'named' };
      return undefined; // the rest of the operation is the cost limit's
    case 'schema':
      if (field === 'types') return { per: s.types, shape: 'types' };
      if (field === 'directives') return { per: s.directives, shape: 'directivesOfSchema' };
      if (field === 'queryType' || field === 'mutationType' || field === 'subscriptionType')
        return { per: 1, shape: 'named' };
      return undefined;
    case 'fieldsOfTypes':
    case 'field':
      if (field === 'args')
        return {
          per: shape === 'field' ? s.args.max : s.args.total / Math.max(s.fields.total, 1),
          shape: 'inputValue',
        };
      if (field === 'type') return { per: 1, shape: ref };
      return undefined;
    case 'inputValue':
      return field === 'type' ? { per: 1, shape: ref } : undefined;
    case 'directivesOfSchema':
      if (field === 'args')
        return { per: s.directiveArgs.total / Math.max(s.directives, 1), shape: 'inputValue' };
      return undefined;
    case 'enumValue':
      return undefined;
    default: {
      // A __Type: all of them, one named, or a reference that may still be wrapped.
      const all = shape === 'types';
      if (field === 'fields') return typeList(s, all, s.fields, all ? 'fieldsOfTypes' : 'field');
      if (field === 'inputFields') return typeList(s, all, s.inputFields, 'inputValue');
      if (field === 'enumValues') return typeList(s, all, s.enumValues, 'enumValue');
      if (field === 'interfaces') return typeList(s, all, s.interfaces, 'named');
      if (field === 'possibleTypes') return typeList(s, all, s.possibleTypes, 'named');
      if (field === 'ofType') {
        // A named type's ofType is null; a reference unwraps one level at a time.
        const left = shape.startsWith('ref') ? Number(shape.slice(3)) : 0;
        return left > 0 ? { per: 1, shape: `ref${left - 1}` } : undefined;
      }
      return undefined;
    }
  }
}

/** One selection set being summed, per object of `shape`. */
interface Frame {
  set: SelectionSetNode;
  shape: Shape;
  next: number;
  sum: number;
  /** What the finished sum is multiplied by and added to, in the frame below. */
  per: number;
  /** Set when this frame is a fragment's definition: its per-object cost is remembered. */
  memo?: string;
}

/**
 * How many values (every field of every object, list entries included) the introspection in an
 * operation can answer at most in this schema: `__schema { types { fields { name } } }` counts
 * the schema's real number of types and fields, each alias and each spread again. A list under
 * `__schema.types` counts the schema's total (every type at once), one under a single type the
 * longest such list, and `ofType` stops where the schema's types stop being wrapped; so the count
 * bounds the answer from above, and the standard introspection query's count is close to its
 * answer. Fields outside introspection count nothing here (the cost limit prices them).
 * Iterative, each fragment counted once per shape: linear in the document.
 */
export function introspectionValues(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
): number {
  const s = schemaSizes(schema);
  const memo = new Map<string, number>();
  const open = new Set<string>();
  const stack: Frame[] = [{ set: operation.selectionSet, shape: 'root', next: 0, sum: 0, per: 1 }];
  let total = 0;
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    const selection = frame.set.selections[frame.next++];
    if (selection === undefined) {
      stack.pop();
      if (frame.memo !== undefined) {
        memo.set(frame.memo, frame.sum);
        open.delete(frame.memo);
      }
      const below = stack[stack.length - 1];
      if (below === undefined) total = frame.sum;
      else below.sum += frame.per * frame.sum;
      continue;
    }
    if (selection.kind === Kind.FIELD) {
      const child = childOf(s, frame.shape, selection.name.value);
      const counted = frame.shape !== 'root' || child !== undefined || selection.name.value === '__typename';
      if (counted) frame.sum += 1;
      if (child !== undefined && selection.selectionSet !== undefined)
        stack.push({ set: selection.selectionSet, shape: child.shape, next: 0, sum: 0, per: child.per });
      continue;
    }
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      stack.push({ set: selection.selectionSet, shape: frame.shape, next: 0, sum: 0, per: 1 });
      continue;
    }
    const name = selection.name.value;
    const key = `${frame.shape}:${name}`;
    const known = memo.get(key);
    const definition = fragments.get(name);
    if (known !== undefined) frame.sum += known;
    // A cycle (reported by graphql-js's own rule) or an unknown fragment counts nothing.
    else if (definition !== undefined && !open.has(key)) {
      open.add(key);
      stack.push({ set: definition.selectionSet, shape: frame.shape, next: 0, sum: 0, per: 1, memo: key });
    }
  }
  return total;
}

/**
 * COST_LIMIT_EXCEEDED-style refusal (with `code`) of the first operation whose introspection could
 * answer more than `max` values (introspectionValues): one full introspection passes, several
 * copies of it do not. Needs no validation: run before graphql-js's rules, which cost more.
 */
export function introspectionRefusal(
  schema: GraphQLSchema,
  document: DocumentNode,
  max: number,
  code: ErrorCode,
): GraphQLError | undefined {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const values = Math.ceil(introspectionValues(schema, definition, fragments));
    if (values > max) {
      return new GraphQLError(`Introspection limit of ${max} values exceeded, found ${values}.`, {
        extensions: { code },
      });
    }
  }
  return undefined;
}
