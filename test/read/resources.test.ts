import { describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../src/simulator/index.js';
import { type Any, gets, params, useReadHarness } from './support.js';

const read = useReadHarness();

const NAMES = '/resources/names';
const names = () => gets(read.h, NAMES);
/** The uuids one GetResourceNames call asked for (one `uuids=` each). */
const asked = (r: RecordedRequest) =>
  params(r)
    .filter(([k]) => k === 'uuids')
    .map(([, v]) => v);
const REF = '{ uuid name type }';

const PAGE = `{ tickets(first: 50) { nodes {
  uuid status
  accountSystemContext { projectUuid virtualIDUuid project ${REF} virtualId ${REF} }
  request { apiName action apiBody resources ${REF} }
  history { uuid operatorUuid operator ${REF} }
  flowCollection { uuid flows { approverUuid approver ${REF} } }
} } }`;

/** Distinct hex uuids that ZStack does not know. */
const unknownUuids = (n: number, prefix = 'e') =>
  Array.from({ length: n }, (_, i) => `${prefix}${i.toString(16).padStart(31, '0')}`);

function nameOf(uuid: string): { name: string; type: string } {
  const { demo } = read.h.simulator.controls;
  const vid = [...demo.approvers, ...demo.submitters].find((v) => v.uuid === uuid);
  if (vid) return { name: vid.name, type: 'IAM2VirtualIDVO' };
  if (uuid === demo.admin.uuid) return { name: 'admin', type: 'AccountVO' };
  const r = demo.resources.find((x) => x.uuid === uuid);
  if (r) return { name: r.name as string, type: r.type };
  throw new Error(`no demo name for ${uuid}`);
}

describe('ResourceRef cost: one GetResourceNames call per operation (per 100 distinct uuids)', () => {
  it('a 50-ticket page with project, virtual ID, approvers, operators and request resources costs exactly one names call beside the usual three', async () => {
    const res = await read.h.gql<Any>(PAGE, {}, { session: read.admin });
    expect(res.errors).toBeUndefined();
    const nodes = res.data.tickets.nodes as Any[];
    expect(nodes).toHaveLength(50);

    expect(names()).toHaveLength(1);
    expect(gets(read.h, '/tickets')).toHaveLength(1);
    expect(gets(read.h, '/tickets/histories')).toHaveLength(1);
    expect(gets(read.h, '/tickets/flow-collections')).toHaveLength(1);
    expect(read.h.simulator.controls.requests).toHaveLength(4);

    // Every ref is named right, and the one call asked for each distinct uuid once.
    const refs: Any[] = [];
    for (const n of nodes) {
      const ctx = n.accountSystemContext;
      expect(ctx.project.uuid).toBe(ctx.projectUuid);
      expect(ctx.virtualId.uuid).toBe(ctx.virtualIDUuid);
      refs.push(ctx.project, ctx.virtualId);
      for (const h of n.history) {
        expect(h.operator.uuid).toBe(h.operatorUuid);
        refs.push(h.operator);
      }
      for (const f of n.flowCollection.flows) {
        expect(f.approver.uuid).toBe(f.approverUuid);
        refs.push(f.approver);
      }
      for (const r of n.request) refs.push(...r.resources);
    }
    for (const ref of refs) expect({ name: ref.name, type: ref.type }).toEqual(nameOf(ref.uuid));
    expect(nodes[0].accountSystemContext.project).toEqual({
      uuid: read.h.simulator.controls.demo.projectUuid,
      name: 'demo-project',
      type: 'IAM2ProjectVO',
    });
    const distinct = new Set(refs.map((r) => r.uuid));
    expect([...asked(names()[0] as RecordedRequest)].sort()).toEqual([...distinct].sort());

    // The request resources follow the apiBody: CreateVmInstance names offering, image and networks.
    const vm = nodes[0].request[0];
    expect(vm.action).toBe('CreateVmInstance');
    expect(vm.resources.map((r: Any) => r.uuid)).toEqual([
      vm.apiBody.instanceOfferingUuid,
      vm.apiBody.imageUuid,
      ...vm.apiBody.l3NetworkUuids,
    ]);
    expect(vm.resources.map((r: Any) => r.type)).toEqual(['InstanceOfferingVO', 'ImageVO', 'L3NetworkVO']);
  });

  it('uuid-only refs cost no names call at all', async () => {
    const res = await read.h.gql<Any>(
      `{ tickets(first: 50) { nodes {
          accountSystemContext { project { uuid } virtualId { uuid } }
          request { resources { uuid } }
          history { operator { uuid } }
          flowCollection { flows { approver { uuid } } }
        } }
        resources(uuids: ["${'a'.repeat(32)}"]) { uuid } }`,
      {},
      { session: read.admin },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.tickets.nodes[0].accountSystemContext.project.uuid).toBe(
      read.h.simulator.controls.demo.projectUuid,
    );
    expect(res.data.resources).toEqual([{ uuid: 'a'.repeat(32) }]);
    expect(names()).toHaveLength(0);
  });

  it.each([
    [150, 2],
    [250, 3],
  ])('%i distinct uuids over several fields cost %i names calls of at most 100 uuids', async (n, calls) => {
    const all = unknownUuids(n);
    const chunks: string[][] = [];
    for (let i = 0; i < all.length; i += 90) chunks.push(all.slice(i, i + 90));
    // Repeats across fields and a ticket page's refs share the same calls.
    const doc = `{ ${chunks
      .map((c, i) => `r${i}: resources(uuids: ${JSON.stringify(c)}) { uuid name type }`)
      .join('\n')}
      again: resources(uuids: ${JSON.stringify(all.slice(0, 10))}) { name }
      tickets(first: 5) { nodes { accountSystemContext { project { name } } } } }`;
    const res = await read.h.gql<Any>(doc, {}, { session: read.admin });
    expect(res.errors).toBeUndefined();
    chunks.forEach((c, i) => {
      expect(res.data[`r${i}`]).toEqual(c.map((uuid) => ({ uuid, name: null, type: null })));
    });
    expect(res.data.tickets.nodes[0].accountSystemContext.project.name).toBe('demo-project');
    const made = names();
    const distinct = n + 1; // the project
    expect(made).toHaveLength(Math.ceil(distinct / 100));
    expect(made).toHaveLength(calls);
    const sent = made.flatMap(asked);
    for (const call of made) expect(asked(call).length).toBeLessThanOrEqual(100);
    expect(sent).toHaveLength(distinct);
    expect(new Set(sent)).toEqual(new Set([...all, read.h.simulator.controls.demo.projectUuid]));
  });

  it('when the names call fails only name and type error (mapped), and the rest of the data stays', async () => {
    read.h.simulator.controls.injectFault({
      fault: { kind: 'errorCode', code: 'SYS.1000', details: 'boom' },
      method: 'GET',
      path: '/v1/resources/names',
    });
    const res = await read.h.gql<Any>(PAGE, {}, { session: read.admin });
    expect(names()).toHaveLength(1);
    const nodes = res.data.tickets.nodes as Any[];
    expect(nodes).toHaveLength(50);
    for (const n of nodes) {
      expect(n.accountSystemContext.project).toMatchObject({ name: null, type: null });
      expect(n.accountSystemContext.project.uuid).toBe(n.accountSystemContext.projectUuid);
      expect(n.history.length).toBeGreaterThan(0);
      expect(n.history[0].operator.uuid).toBe(n.history[0].operatorUuid);
      expect(n.flowCollection.flows[0].approver.uuid).toBe(n.flowCollection.flows[0].approverUuid);
      expect(n.status).toEqual(expect.any(String));
    }
    expect(res.errors?.length).toBeGreaterThan(0);
    for (const e of res.errors ?? []) {
      expect(e.extensions).toMatchObject({ code: 'UPSTREAM_ERROR', zstack: { code: 'SYS.1000' } });
      expect(['name', 'type']).toContain(e.path?.at(-1));
    }
  });

  it('a refused names call maps as every upstream error does (ID.1002 → FORBIDDEN)', async () => {
    read.h.simulator.controls.injectFault({
      fault: { kind: 'errorCode', code: 'ID.1002', details: 'no' },
      path: '/v1/resources/names',
    });
    const res = await read.h.gql<Any>(
      `{ resources(uuids: ["${read.h.simulator.controls.demo.projectUuid}"]) { uuid name } }`,
      {},
      { session: read.admin },
    );
    expect(res.data.resources).toEqual([{ uuid: read.h.simulator.controls.demo.projectUuid, name: null }]);
    expect(res.errors).toHaveLength(1);
    expect(res.errors?.[0]?.path).toEqual(['resources', 0, 'name']);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('Query.resources', () => {
  it('answers in input order, repeats included; unknown uuids get null name and type', async () => {
    const { demo } = read.h.simulator.controls;
    const carol = demo.approvers[0] as { uuid: string; name: string };
    const unknown = 'b'.repeat(32);
    const res = await read.h.gql<Any>(
      `query($u: [ID!]!) { resources(uuids: $u) { uuid name type } }`,
      { u: [unknown, demo.projectUuid, carol.uuid.toUpperCase(), demo.projectUuid] },
      { session: read.admin },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.resources).toEqual([
      { uuid: unknown, name: null, type: null },
      { uuid: demo.projectUuid, name: 'demo-project', type: 'IAM2ProjectVO' },
      { uuid: carol.uuid, name: carol.name, type: 'IAM2VirtualIDVO' },
      { uuid: demo.projectUuid, name: 'demo-project', type: 'IAM2ProjectVO' },
    ]);
    expect(names()).toHaveLength(1);
    expect(asked(names()[0] as RecordedRequest)).toEqual([unknown, demo.projectUuid, carol.uuid]);
  });

  it.each([
    ['no uuids', []],
    ['101 uuids', unknownUuids(101)],
    ['a malformed uuid', ['not-a-uuid']],
    ['a uuid with dashes', ['12345678-1234-1234-1234-123456789012']],
  ])('refuses %s with BAD_USER_INPUT before any upstream call', async (_what, uuids) => {
    const res = await read.h.gql<Any>(
      `query($u: [ID!]!) { resources(uuids: $u) { uuid name } }`,
      { u: uuids },
      { session: read.admin },
    );
    expect(res.data).toEqual({ resources: null });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.field).toBe('uuids');
    expect(read.h.simulator.controls.requests).toHaveLength(0);
  });

  it('takes exactly 100, and needs a session', async () => {
    const ok = await read.h.gql<Any>(
      `query($u: [ID!]!) { resources(uuids: $u) { name } }`,
      { u: unknownUuids(100) },
      { session: read.admin },
    );
    expect(ok.errors).toBeUndefined();
    expect(ok.data.resources).toHaveLength(100);
    expect(names()).toHaveLength(1);
    read.h.simulator.controls.clearRequests();
    const anon = await read.h.gql<Any>(`{ resources(uuids: ["${'a'.repeat(32)}"]) { name } }`);
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(read.h.simulator.controls.requests).toHaveLength(0);
  });
});
