import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/**
 * The X-Job-UUID (32 hex) of an idempotent ticket write: the same session, mutation, key and
 * upstream input always give the same job uuid, so ZStack refuses a replay as a duplicate job and the
 * gateway answers with the original job's result; a different input under the same key is a new job.
 */
export function idempotentJobUuid(session: string, mutation: string, key: string, input: unknown): string {
  return createHash('sha256')
    .update(`${session}\n${mutation}\n${key}\n${canonicalJson(input)}`)
    .digest('hex')
    .slice(0, 32);
}
