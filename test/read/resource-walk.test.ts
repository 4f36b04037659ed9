import { describe, expect, it } from 'vitest';
import {
  apiBodyUuids,
  MAX_API_BODY_DEPTH,
  MAX_API_BODY_NODES,
  requestAction,
} from '../../src/schema/resource.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);
const D = 'd'.repeat(32);

describe('requestAction', () => {
  it.each([
    ['org.zstack.header.vm.APICreateVmInstanceMsg', 'CreateVmInstance'],
    ['org.zstack.header.vm.APIDestroyVmInstanceMsg', 'DestroyVmInstance'],
    ['org.zstack.header.volume.APICreateDataVolumeMsg', 'CreateDataVolume'],
    ['APICreateVmInstanceMsg', 'CreateVmInstance'],
    ['org.zstack.header.vm.CreateVmInstanceMsg', 'CreateVmInstance'],
    ['org.zstack.header.vm.APICreateVmInstance', 'CreateVmInstance'],
    ['org.zstack.APIMsgAPIMsg', 'MsgAPI'],
    ['org.zstack.header.vm.APIMsg', null],
    ['org.zstack.header.vm.', null],
    ['', null],
    [undefined, null],
  ])('%s → %s', (apiName, action) => {
    expect(requestAction(apiName)).toBe(action);
  });
});

describe('apiBodyUuids', () => {
  it.each([
    ['not an object', 'x', []],
    ['null', null, []],
    ['a key ending in Uuid', { imageUuid: A }, [A]],
    ['a key ending in Uuids', { l3NetworkUuids: [A, B] }, [A, B]],
    ['first-seen order, keys in the order received', { zUuid: B, aUuid: A }, [B, A]],
    ['duplicates once, case folded', { imageUuid: A, otherUuid: A.toUpperCase(), l3NetworkUuids: [A] }, [A]],
    ['"uuid" does not end in Uuid', { uuid: A, UUID: B }, []],
    ['other keys are skipped', { name: A, tags: [B] }, []],
    ['a non-uuid value is skipped', { imageUuid: 'abc', vmUuid: `${A}0`, hostUuid: `${A.slice(1)}-` }, []],
    ['a Uuid key with a list, a Uuids key with a string', { imageUuid: [A], l3NetworkUuids: B }, []],
    ['non-strings in a Uuids list are skipped', { l3NetworkUuids: [1, null, A, { x: B }] }, [A]],
    [
      'depth first: nested values come before later keys',
      { imageUuid: A, nested: { deeper: { hostUuid: B } }, zoneUuid: C },
      [A, B, C],
    ],
    [
      'inside lists of objects',
      { rules: [{ l3NetworkUuid: B }, { l3NetworkUuid: C, more: [{ vmUuids: [D, A] }] }], imageUuid: A },
      [B, C, D, A],
    ],
    ['a top-level list', [{ imageUuid: A }, { imageUuid: B }], [A, B]],
  ])('%s', (_what, body, expected) => {
    expect(apiBodyUuids(body)).toEqual(expected);
  });

  it(`looks no deeper than ${MAX_API_BODY_DEPTH} levels, without recursion`, () => {
    const deep = (levels: number, leaf: Record<string, unknown>) => {
      let body: Record<string, unknown> = leaf;
      for (let i = 1; i < levels; i++) body = { next: body };
      return body;
    };
    expect(apiBodyUuids(deep(MAX_API_BODY_DEPTH, { imageUuid: A }))).toEqual([A]);
    expect(apiBodyUuids(deep(MAX_API_BODY_DEPTH + 1, { imageUuid: A }))).toEqual([]);
    // Far past any call stack: still answers.
    expect(apiBodyUuids({ imageUuid: B, x: deep(200_000, { imageUuid: A }) })).toEqual([B]);
  });

  it('stops at the max uuids asked for (TicketRequest.resources asks for one more than it lists)', () => {
    const body = { imageUuid: A, l3NetworkUuids: [B, C, A], zoneUuid: D };
    expect(apiBodyUuids(body, 2)).toEqual([A, B]);
    expect(apiBodyUuids(body, 3)).toEqual([A, B, C]);
    expect(apiBodyUuids(body, 4)).toEqual([A, B, C, D]);
    expect(apiBodyUuids(body, 10)).toEqual([A, B, C, D]);
  });

  it(`stops after ${MAX_API_BODY_NODES} values`, () => {
    const filler = Array.from({ length: MAX_API_BODY_NODES }, () => 0);
    expect(apiBodyUuids({ imageUuid: A, filler, zoneUuid: B })).toEqual([A]);
    const few = Array.from({ length: MAX_API_BODY_NODES - 3 }, () => 0);
    expect(apiBodyUuids({ imageUuid: A, few, zoneUuid: B })).toEqual([A, B]);
    // A huge list costs only what is visited.
    const huge = new Array(5_000_000).fill(0);
    expect(apiBodyUuids({ imageUuid: A, huge })).toEqual([A]);
  });
});
