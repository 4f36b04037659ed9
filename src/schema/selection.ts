import { type GraphQLResolveInfo, Kind, type SelectionSetNode } from 'graphql';

/**
 * The fields selected in `sets` (a type's selection sets), merged over aliases, repeats and
 * fragments, each with its sub-selections. `@skip`/`@include` are ignored, so a field may be reported
 * that is not executed: callers only ever fetch more than needed, never less. Returns undefined when
 * a fragment is on a type other than `typeName`, i.e. when the shape is not understood.
 */
export function selectedFields(
  info: Pick<GraphQLResolveInfo, 'fragments'>,
  sets: readonly SelectionSetNode[],
  typeName: string,
): Map<string, SelectionSetNode[]> | undefined {
  const out = new Map<string, SelectionSetNode[]>();
  const visit = (set: SelectionSetNode, seen: ReadonlySet<string>): boolean => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const subs = out.get(sel.name.value) ?? [];
        if (sel.selectionSet) subs.push(sel.selectionSet);
        out.set(sel.name.value, subs);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        if (sel.typeCondition && sel.typeCondition.name.value !== typeName) return false;
        if (!visit(sel.selectionSet, seen)) return false;
      } else {
        const name = sel.name.value;
        const fragment = info.fragments[name];
        if (!fragment || fragment.typeCondition.name.value !== typeName || seen.has(name)) return false;
        if (!visit(fragment.selectionSet, new Set([...seen, name]))) return false;
      }
    }
    return true;
  };
  for (const set of sets) if (!visit(set, new Set())) return undefined;
  return out;
}

/** The selection sets of the field being resolved (one per field node: aliases are separate fields). */
export function ownSelections(info: Pick<GraphQLResolveInfo, 'fieldNodes'>): SelectionSetNode[] {
  return info.fieldNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
}

export interface ConnectionSelection {
  /** Whether totalCount may be selected (true when unsure). */
  totalCount: boolean;
  /** The node fields selected through `edges.node` and `nodes`; undefined when unsure. */
  nodeFields: Map<string, SelectionSetNode[]> | undefined;
}

/** What a `<Name>Connection` field's caller selected. */
export function connectionSelection(
  info: Pick<GraphQLResolveInfo, 'fragments' | 'fieldNodes'>,
  name: string,
  nodeType: string,
): ConnectionSelection {
  const conn = selectedFields(info, ownSelections(info), `${name}Connection`);
  if (!conn) return { totalCount: true, nodeFields: undefined };
  const nodeSets = [...(conn.get('nodes') ?? [])];
  const edges = selectedFields(info, conn.get('edges') ?? [], `${name}Edge`);
  if (!edges) return { totalCount: conn.has('totalCount'), nodeFields: undefined };
  nodeSets.push(...(edges.get('node') ?? []));
  return { totalCount: conn.has('totalCount'), nodeFields: selectedFields(info, nodeSets, nodeType) };
}
