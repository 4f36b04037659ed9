import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { call, loginAccount, loginVirtualId, start } from './support.js';

let sim: Simulator;
let admin: string;

beforeAll(async () => {
  sim = await start();
  admin = await loginAccount(sim);
});
afterAll(() => sim.close());

const names = (uuids: string[], session = admin) =>
  call(sim, 'GET', `/v1/resources/names?${uuids.map((u) => `uuids=${u}`).join('&')}`, { session });

describe('GetResourceNames', () => {
  it('names accounts, virtual IDs, the project and the resources of the demo apiBodys; unknown uuids are absent', async () => {
    const { demo } = sim.controls;
    const unknown = 'f'.repeat(32);
    const asked = [
      ...new Set([
        unknown,
        demo.admin.uuid,
        demo.projectUuid,
        ...demo.approvers.map((a) => a.uuid),
        ...demo.submitters.map((s) => s.uuid),
        ...demo.resources.map((r) => r.uuid),
      ]),
    ];
    const r = await names(asked);
    expect(r.status).toBe(200);
    const rows = r.json.inventories as { uuid: string; resourceName: string; resourceType: string }[];
    expect(rows).toHaveLength(asked.length - 1);
    // The table's order, not the request's.
    expect(rows.map((x) => x.uuid)).toEqual([...rows.map((x) => x.uuid)].sort());
    const byUuid = new Map(rows.map((x) => [x.uuid, x]));
    expect(byUuid.has(unknown)).toBe(false);
    expect(byUuid.get(demo.admin.uuid)).toEqual({
      uuid: demo.admin.uuid,
      resourceName: 'admin',
      resourceType: 'AccountVO',
      concreteResourceType: 'org.zstack.header.identity.AccountVO',
    });
    expect(byUuid.get(demo.projectUuid)).toMatchObject({
      resourceName: 'demo-project',
      resourceType: 'IAM2ProjectVO',
    });
    for (const a of [...demo.approvers, ...demo.submitters]) {
      expect(byUuid.get(a.uuid)).toMatchObject({ resourceName: a.name, resourceType: 'IAM2VirtualIDVO' });
    }
    expect(new Set(demo.resources.map((x) => x.type))).toEqual(
      new Set([
        'IAM2ProjectVO',
        'ImageVO',
        'InstanceOfferingVO',
        'DiskOfferingVO',
        'L3NetworkVO',
        'VmInstanceVO',
      ]),
    );
  });

  it('every uuid in a demo apiBody has a name', async () => {
    const uuids = new Set<string>();
    for (const t of sim.controls.listTickets()) {
      for (const req of t.request as { apiBody: Record<string, unknown> }[]) {
        for (const [k, v] of Object.entries(req.apiBody)) {
          if (k.endsWith('Uuid') || k === 'uuid') uuids.add(v as string);
          if (k.endsWith('Uuids')) for (const u of v as string[]) uuids.add(u);
        }
      }
    }
    expect(uuids.size).toBeGreaterThan(5);
    const r = await names([...uuids]);
    expect(r.json.inventories).toHaveLength(uuids.size);
  });

  it('any session may call it; no uuids is SYS.1007; no session is the usual 400', async () => {
    const carol = await loginVirtualId(sim, 'carol');
    const r = await names([sim.controls.demo.admin.uuid], carol);
    expect(r.json.inventories).toHaveLength(1);
    const none = await call(sim, 'GET', '/v1/resources/names', { session: admin });
    expect(none.status).toBe(503);
    expect(none.json.error.code).toBe('SYS.1007');
    expect(none.json.error.details).toContain('field[uuids]');
    const anon = await call(sim, 'GET', `/v1/resources/names?uuids=${admin}`);
    expect(anon.status).toBe(400);
  });
});

describe('IAM2 flows', () => {
  it('always carry valid (a primitive boolean in the SDK) and no approverTitle', async () => {
    const flows = (await call(sim, 'GET', '/v1/tickets/flow', { session: admin })).json.inventories;
    const nested = (await call(sim, 'GET', '/v1/tickets/flow-collections', { session: admin })).json
      .inventories[0].flows;
    for (const f of [...flows, ...nested]) {
      expect(f.valid).toBe(true);
      expect(f).not.toHaveProperty('approverTitle');
    }
  });
});

describe('seeded archives', () => {
  it('the deleted demo tickets are in the archives with their history, not among the live tickets', async () => {
    const { archivedTicketUuids } = sim.controls.demo;
    expect(archivedTicketUuids).toHaveLength(3);
    const live = (await call(sim, 'GET', '/v1/tickets?count=true', { session: admin })).json.total;
    expect(live).toBe(50);
    const archived = (await call(sim, 'GET', '/v1/tickets/archives', { session: admin })).json.inventories;
    expect(archived.map((a: { ticketUuid: string }) => a.ticketUuid)).toEqual(archivedTicketUuids);
    const hist = (await call(sim, 'GET', '/v1/tickets/histories/archives', { session: admin })).json
      .inventories;
    expect(new Set(hist.map((h: { ticketUuid: string }) => h.ticketUuid))).toEqual(
      new Set(archivedTicketUuids),
    );
  });
});
