import type { CallOptions, ZStackClient } from './client.js';
import { ZStackHttpError } from './errors.js';
import type { ApiQueryReply, ApiResourceName } from './types.js';

/**
 * The most uuids one GetResourceNames call carries: 100 uuids of 32 characters make a query string
 * of about 4 KB, well inside any URL limit.
 */
export const MAX_UUIDS_PER_NAMES_CALL = 100;

/**
 * GetResourceNames (sync GET, one `uuids=` per uuid as ZStack's SDK sends them). Rows come back in
 * ZStack's order and unknown uuids are absent. Refuses an empty or oversized list before any call.
 */
export async function getResourceNames(
  client: ZStackClient,
  uuids: readonly string[],
  opts: CallOptions,
): Promise<ApiResourceName[]> {
  if (uuids.length === 0 || uuids.length > MAX_UUIDS_PER_NAMES_CALL) {
    throw new RangeError(
      `GetResourceNames takes 1 to ${MAX_UUIDS_PER_NAMES_CALL} uuids (got ${uuids.length}).`,
    );
  }
  const query = new URLSearchParams();
  for (const uuid of uuids) query.append('uuids', uuid);
  const reply = await client.get<ApiQueryReply<ApiResourceName>>({ path: '/resources/names', query }, opts);
  const rows = reply?.inventories;
  if (!Array.isArray(rows)) throw new ZStackHttpError(200, 'response has no inventories', undefined);
  return rows.filter(
    (row): row is ApiResourceName => row !== null && typeof row === 'object' && typeof row.uuid === 'string',
  );
}
