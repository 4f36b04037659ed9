/** The simulator's own endpoints under /__simulator/: the in-process controls over HTTP, for a simulator run alone. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultRule, RequestFailureRule, SimulatorControls } from './types.js';

/** Answers one /__simulator/ request; an unknown endpoint is 404, a bad body 400. */
export async function handleAdmin(
  controls: SimulatorControls,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  body: string,
): Promise<void> {
  const reply = (status: number, value: unknown) => {
    const buf = Buffer.from(JSON.stringify(value, (_k, v) => (v === Number.POSITIVE_INFINITY ? null : v)));
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': buf.length,
    });
    res.end(buf);
  };
  const route = `${req.method} ${path}`;
  try {
    switch (route) {
      case 'GET /__simulator/requests':
        return reply(200, controls.requests);
      case 'DELETE /__simulator/requests':
        controls.clearRequests();
        return reply(200, {});
      case 'POST /__simulator/faults':
        controls.injectFault(JSON.parse(body) as FaultRule);
        return reply(200, {});
      case 'POST /__simulator/request-failures':
        controls.injectRequestFailure(JSON.parse(body) as RequestFailureRule);
        return reply(200, {});
      case 'DELETE /__simulator/faults':
        controls.clearFaults();
        return reply(200, {});
      case 'PUT /__simulator/job-latency': {
        const ms = (JSON.parse(body) as { ms?: unknown }).ms;
        if (typeof ms !== 'number' || ms < 0) return reply(400, { error: 'ms must be a number >= 0' });
        controls.setJobLatency(ms);
        return reply(200, {});
      }
      case 'POST /__simulator/reset':
        controls.reset();
        return reply(200, {});
      case 'GET /__simulator/demo':
        return reply(200, controls.demo);
      default:
        return reply(404, { error: `no simulator admin endpoint ${route}` });
    }
  } catch (e) {
    return reply(400, { error: e instanceof Error ? e.message : String(e) });
  }
}
