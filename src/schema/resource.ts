import { GraphQLError } from 'graphql';
import { badInput, ErrorCode } from '../errors.js';
import { authed, type Context } from '../request/context.js';
import { MAX_UUIDS_PER_NAMES_CALL } from '../zstack/resources.js';
import { builder } from './builder.js';
import { parseUuid } from './input.js';

/** A ZStack resource as a reference: only its uuid is known until name or type is asked for. */
export interface ResourceRefShape {
  uuid: string;
}

/** The most uuids one `resources(uuids:)` field takes: one GetResourceNames call. */
export const MAX_RESOURCE_UUIDS = MAX_UUIDS_PER_NAMES_CALL;

/** Walk limits on apiBody (outside data): nesting below this depth and nodes past this count are skipped. */
export const MAX_API_BODY_DEPTH = 32;
export const MAX_API_BODY_NODES = 10_000;

const ZSTACK_UUID = /^[0-9a-fA-F]{32}$/;

/** A reference to the resource `uuid` names; null when the value is no string (absent). */
export function resourceRef(uuid: unknown): ResourceRefShape | null {
  return typeof uuid === 'string' && uuid.length > 0 ? { uuid } : null;
}

/**
 * The action of a ticket request: the API class's simple name without a leading `API` and a
 * trailing `Msg` (org.zstack.header.vm.APICreateVmInstanceMsg → CreateVmInstance); null when
 * nothing is left.
 */
export function requestAction(apiName: string | undefined): string | null {
  if (apiName === undefined) return null;
  let name = apiName.slice(apiName.lastIndexOf('.') + 1);
  if (name.startsWith('API')) name = name.slice(3);
  if (name.endsWith('Msg')) name = name.slice(0, -3);
  return name.length > 0 ? name : null;
}

interface Frame {
  /** The container's entries left to visit, in the order received (array indexes are numbers). */
  entries: Iterator<[string | number, unknown]>;
  depth: number;
  /** The container is the list value of a key ending in `Uuids`: its strings are uuids. */
  uuidList: boolean;
}

function entriesOf(value: object): Iterator<[string | number, unknown]> {
  // Arrays lazily: a huge list costs only the entries visited before the node limit.
  return Array.isArray(value) ? value.entries() : Object.entries(value)[Symbol.iterator]();
}

/**
 * The ZStack uuids an apiBody names: every string value of a key ending in `Uuid`, and every string
 * in the list value of a key ending in `Uuids`, that is 32 hex characters, at any depth. First-seen
 * order (depth first, keys in the order received), lowercase, without duplicates; the walk stops at
 * `max` of them. Iterative: no recursion on outside data; below MAX_API_BODY_DEPTH and past
 * MAX_API_BODY_NODES values are skipped.
 */
export function apiBodyUuids(apiBody: unknown, max = Number.POSITIVE_INFINITY): string[] {
  const found = new Set<string>();
  if (apiBody === null || typeof apiBody !== 'object') return [];
  const stack: Frame[] = [{ entries: entriesOf(apiBody), depth: 1, uuidList: false }];
  let nodes = 0;
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    const next = frame.entries.next();
    if (next.done) {
      stack.pop();
      continue;
    }
    if (++nodes > MAX_API_BODY_NODES) break;
    const [key, value] = next.value;
    if (typeof value === 'string') {
      const named = frame.uuidList || (typeof key === 'string' && key.endsWith('Uuid'));
      if (named && ZSTACK_UUID.test(value)) {
        found.add(value.toLowerCase());
        if (found.size >= max) break;
      }
    } else if (value !== null && typeof value === 'object' && frame.depth < MAX_API_BODY_DEPTH) {
      const uuidList = typeof key === 'string' && Array.isArray(value) && key.endsWith('Uuids');
      stack.push({ entries: entriesOf(value), depth: frame.depth + 1, uuidList });
    }
  }
  return [...found];
}

/**
 * TicketRequest.resources: the first `max` uuids the apiBody names (MAX_RESOURCES_PER_REQUEST), then,
 * when it names more, one error entry (RESOURCE_LIMIT_EXCEEDED) where the list was cut: the answer
 * shows a null there and the error says so, so a cut list is never taken for the whole.
 */
export function requestResources(apiBody: unknown, max: number): (ResourceRefShape | GraphQLError)[] {
  const uuids = apiBodyUuids(apiBody, max + 1);
  const refs: (ResourceRefShape | GraphQLError)[] = uuids.slice(0, max).map((uuid) => ({ uuid }));
  if (uuids.length > max) {
    refs.push(
      new GraphQLError(
        `This request's apiBody names more than ${max} resources: only the first ${max} are listed.`,
        { extensions: { code: ErrorCode.RESOURCE_LIMIT_EXCEEDED, limit: max } },
      ),
    );
  }
  return refs;
}

async function nameRow(ref: ResourceRefShape, ctx: Context) {
  return ctx.loaders.resourceByUuid.load(ref.uuid);
}

export const ResourceRef = builder.objectRef<ResourceRefShape>('ResourceRef').implement({
  description:
    "A ZStack resource named by its uuid (ZStack's GetResourceNames). Selecting only uuid costs nothing; every name and type of one operation is looked up together, up to the gateway's limit of distinct uuids per operation (past it, name and type are errors with NAME_LIMIT_EXCEEDED).",
  fields: (t) => ({
    uuid: t.exposeID('uuid', { description: 'The resource uuid, as the data that refers to it holds it.' }),
    name: t.string({
      nullable: true,
      description: 'The resource name; null when ZStack does not know the uuid or the resource has no name.',
      resolve: async (ref, _args, ctx) => (await nameRow(ref, ctx))?.resourceName ?? null,
    }),
    type: t.string({
      nullable: true,
      description:
        "ZStack's resource type (the base VO class's simple name, e.g. ImageVO, IAM2ProjectVO); null when ZStack does not know the uuid.",
      resolve: async (ref, _args, ctx) => (await nameRow(ref, ctx))?.resourceType ?? null,
    }),
  }),
});

builder.queryField('resources', (t) =>
  t.field({
    type: [ResourceRef],
    nullable: { list: true, items: false },
    description: `Names ZStack resources by uuid (GetResourceNames): one reference per uuid given, in the order given; an unknown uuid gets null name and type. Takes 1 to ${MAX_RESOURCE_UUIDS} uuids.`,
    args: {
      uuids: t.arg.idList({
        required: true,
        description: `The uuids to name (32 hex characters each), 1 to ${MAX_RESOURCE_UUIDS} of them.`,
      }),
    },
    resolve: (_root, args, ctx) => {
      if (args.uuids.length === 0 || args.uuids.length > MAX_RESOURCE_UUIDS) {
        throw badInput(`uuids lists 1 to ${MAX_RESOURCE_UUIDS} uuids (got ${args.uuids.length}).`, 'uuids');
      }
      const refs = args.uuids.map((uuid) => ({ uuid: parseUuid(uuid, 'uuids') }));
      authed(ctx);
      return refs;
    },
  }),
);
