import { createHash } from 'node:crypto';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';

export const sha512 = (s: string) => createHash('sha512').update(s).digest('hex');

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test code reads arbitrary wire JSON
  json: any;
}

export interface CallOptions {
  body?: unknown;
  session?: string;
  headers?: Record<string, string>;
}

/** One HTTP call; `path` is relative to the simulator url (…/zstack) unless it starts with http. */
export async function call(
  sim: Simulator,
  method: string,
  path: string,
  opts: CallOptions = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.session !== undefined) headers.Authorization = `OAuth ${opts.session}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json; charset=utf-8';
  }
  const url = path.startsWith('http') ? path : `${sim.url}${path}`;
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export async function loginAccount(sim: Simulator, name = 'admin', password = 'password'): Promise<string> {
  const r = await call(sim, 'PUT', '/v1/accounts/login', {
    body: { logInByAccount: { accountName: name, password: sha512(password) } },
  });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
  return r.json.inventory.uuid as string;
}

export async function loginVirtualId(sim: Simulator, name: string, password = 'password'): Promise<string> {
  const r = await call(sim, 'PUT', '/v1/iam2/virtual-ids/login', {
    body: { loginIAM2VirtualID: { name, password: sha512(password) } },
  });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
  return r.json.inventory.uuid as string;
}

/** Polls a job location until it stops answering 202 (bounded). */
export async function awaitJob(sim: Simulator, location: string, session?: string): Promise<Reply> {
  const path = new URL(location).pathname.replace(/^\/zstack/, '');
  for (let i = 0; i < 200; i++) {
    const r = await call(sim, 'GET', path, { session });
    if (r.status !== 202) return r;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`job ${location} still running`);
}

/** An async call followed by polling its job: the job's final reply. */
export async function asyncCall(
  sim: Simulator,
  method: string,
  path: string,
  opts: CallOptions = {},
): Promise<Reply> {
  const first = await call(sim, method, path, opts);
  if (first.status !== 202) throw new Error(`expected 202, got ${first.status} ${first.text}`);
  return awaitJob(sim, first.json.location, opts.session);
}

export function start(options: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({ port: 0, ...options });
}
