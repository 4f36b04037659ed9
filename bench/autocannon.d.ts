// autocannon ships no types; this covers the programmatic API the harness uses.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  export interface AutocannonOptions {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    connections?: number;
    duration?: number;
    timeout?: number;
    /** false marks the response as a mismatch. */
    verifyBody?: (body: string) => boolean;
  }

  export interface AutocannonResult {
    /** Seconds. */
    duration: number;
    requests: { average: number; total: number; sent: number };
    latency: { average: number; p50: number; p99: number };
    errors: number;
    timeouts: number;
    mismatches: number;
    non2xx: number;
    statusCodeStats: Record<string, { count: number }>;
  }

  export interface AutocannonInstance extends EventEmitter, PromiseLike<AutocannonResult> {
    stop(): void;
  }

  function autocannon(options: AutocannonOptions): AutocannonInstance;
  export default autocannon;
}
