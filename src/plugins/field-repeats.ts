import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  Kind,
  type SelectionSetNode,
} from 'graphql';

/** The fields of a set by response name, inline fragments opened and each distinct fragment once. */
function collect(
  set: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  into: Map<string, FieldNode[]>,
): number {
  let visited = 0;
  const seen = new Set<string>();
  const stack: SelectionSetNode[] = [set];
  while (stack.length > 0) {
    for (const selection of (stack.pop() as SelectionSetNode).selections) {
      visited++;
      if (selection.kind === Kind.FIELD) {
        const name = selection.alias?.value ?? selection.name.value;
        const list = into.get(name);
        if (list === undefined) into.set(name, [selection]);
        else list.push(selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) stack.push(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        // A fragment spread again in the same set (or in a cycle) adds nothing, as in graphql-js.
        seen.add(selection.name.value);
        const definition = fragments.get(selection.name.value);
        if (definition !== undefined) stack.push(definition.selectionSet);
      }
    }
  }
  return visited;
}

/** What maxMergedFields found: the largest merge, or that the walk stopped at `maxVisits`. */
export interface MergedFields {
  max: number;
  /** Response path of the largest merge, e.g. `__schema.types`. */
  path: string;
  /** The answer tree had more than maxVisits selections: too large to check, and to run. */
  truncated: boolean;
}

/**
 * The most fields of the operations merged into one answer field (the same response name at the
 * same response path, fragments flattened). graphql-js's OverlappingFieldsCanBeMerged compares
 * every pair of them, sub-selections included, before any other rule can refuse: 20 ×
 * `__schema { 20 × types { name } }` merges 400 fields into `__schema.types` and costs 150–270 ms
 * and 150 MB. Walks the answer's shape with an explicit stack, and stops after `maxVisits` selections.
 */
export function maxMergedFields(document: DocumentNode, maxVisits: number): MergedFields {
  const fragments = new Map<string, FragmentDefinitionNode>();
  const roots: SelectionSetNode[] = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    else if (definition.kind === Kind.OPERATION_DEFINITION) roots.push(definition.selectionSet);
  }
  const result: MergedFields = { max: 0, path: '', truncated: false };
  let visits = 0;
  // Each group is the selection sets merged at one response path; operations are checked one by one.
  const stack: { sets: SelectionSetNode[]; path: string }[] = roots.map((set) => ({ sets: [set], path: '' }));
  while (stack.length > 0) {
    const { sets, path } = stack.pop() as (typeof stack)[number];
    const byName = new Map<string, FieldNode[]>();
    for (const set of sets) visits += collect(set, fragments, byName);
    if (visits > maxVisits) {
      result.truncated = true;
      return result;
    }
    for (const [name, fields] of byName) {
      const at = path === '' ? name : `${path}.${name}`;
      if (fields.length > result.max) {
        result.max = fields.length;
        result.path = at;
      }
      const children: SelectionSetNode[] = [];
      for (const field of fields) if (field.selectionSet !== undefined) children.push(field.selectionSet);
      if (children.length > 0) stack.push({ sets: children, path: at });
    }
  }
  return result;
}
