/** Fault injection: the rules a test arms (`controls.injectFault`, `injectRequestFailure`), validated. */
import type { RequestFailure } from './records.js';
import { ApiError } from './render.js';
import type { Fault, FaultRule, RequestFailureRule } from './types.js';

const FAULT_KINDS = ['errorCode', 'http500', 'reset', 'malformed', 'truncated', 'slowBody', 'latency'];

export function normalizeRule(raw: unknown): FaultRule {
  if (raw === null || typeof raw !== 'object') throw new Error('a fault rule must be an object');
  const rule = raw as FaultRule & { times?: number | null };
  const fault = rule.fault as Fault | undefined;
  if (!fault || !FAULT_KINDS.includes(fault.kind)) {
    throw new Error(`fault.kind must be one of ${FAULT_KINDS.join(', ')}`);
  }
  if (fault.kind === 'errorCode' && typeof fault.code !== 'string') throw new Error('errorCode needs a code');
  const times = rule.times === null ? Number.POSITIVE_INFINITY : (rule.times ?? 1);
  if (typeof times !== 'number' || !(times > 0)) throw new Error('times must be a positive number');
  return { fault, times, method: rule.method, path: rule.path };
}

export function normalizeRequestFailure(raw: unknown): RequestFailure {
  if (raw === null || typeof raw !== 'object') throw new Error('a request failure must be an object');
  const rule = raw as RequestFailureRule & { times?: number | null };
  if (typeof rule.code !== 'string' || rule.code === '') throw new Error('a request failure needs a code');
  const times = rule.times === null ? Number.POSITIVE_INFINITY : (rule.times ?? 1);
  if (typeof times !== 'number' || !(times > 0)) throw new Error('times must be a positive number');
  const error = new ApiError(rule.code, rule.details ?? 'injected by the simulator').errorCode;
  if (rule.description !== undefined) error.description = rule.description;
  return { apiName: rule.apiName, ticketUuid: rule.ticketUuid, error, remaining: times };
}
