/** The switches and secrets: GraphiQL, tracing, the job webhook's secret path, persisted operations. */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { boolVar, type Env, type Problems, urlVar } from './parse.js';
import type { Config } from './types.js';

/** 24 URL-safe random characters (144 bits), with a digit so that isSecretSegment accepts it. */
export function randomSecret(): string {
  for (;;) {
    const s = randomBytes(18).toString('base64url');
    if (isSecretSegment(s)) return s;
  }
}

const requireHere = createRequire(import.meta.url);

/** Whether the optional @graphql-yoga/graphiql package is installed (npm ci --omit=optional leaves it out). */
export function graphiqlPackageInstalled(): boolean {
  try {
    requireHere.resolve('@graphql-yoga/graphiql/package.json');
    return true;
  } catch {
    return false;
  }
}

/**
 * GRAPHIQL: on by default outside production. Asked for explicitly on a runtime without its optional
 * package, it is a configuration error (otherwise the page would silently not be served); the default
 * quietly serves no page there.
 */
export function graphiqlVar(env: Env, p: Problems, production: boolean, installed: () => boolean): boolean {
  const on = boolVar(env, p, 'GRAPHIQL', !production);
  const explicit = env.GRAPHIQL !== undefined && env.GRAPHIQL.trim() !== '';
  if (on && explicit && !installed()) {
    p.add(
      `GRAPHIQL is "${env.GRAPHIQL}" but its optional package @graphql-yoga/graphiql is not installed (install without --omit=optional, or build the image with --build-arg GRAPHIQL=true)`,
    );
    return false;
  }
  return on;
}

const OTLP_PROTOCOLS = ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'];

/**
 * Tracing is on when the standard OTLP endpoint variables say where to send spans, unless
 * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. The exporter reads the other OTEL_*
 * variables itself (headers, timeout, service name); only what would fail later is checked here.
 */
export function tracingVars(env: Env, p: Problems): boolean {
  const endpoints = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'].filter((name) =>
    env[name]?.trim(),
  );
  if (endpoints.length === 0) return false;
  for (const name of endpoints) urlVar(env, p, name, 'http://otel-collector:4318');
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (exporter === 'none') return false;
  if (exporter && exporter !== 'otlp')
    p.add(`OTEL_TRACES_EXPORTER must be otlp or none, got "${env.OTEL_TRACES_EXPORTER}"`);
  for (const name of OTLP_PROTOCOLS) {
    const protocol = env[name]?.trim();
    if (protocol && protocol !== 'http/json') {
      p.add(`${name} must be http/json (the gateway sends OTLP as JSON over HTTP), got "${env[name]}"`);
    }
  }
  return true;
}

/** Paths the gateway serves itself; the webhook would shadow them. */
const OWN_PATHS = new Set(['/graphql', '/health', '/ready', '/metrics']);

/**
 * Whether a path segment is an unguessable secret: at least 16 characters of [A-Za-z0-9_-], with a
 * letter, a digit and at least 8 distinct characters (so `zstack-webhook-callback` is not one).
 */
export function isSecretSegment(segment: string): boolean {
  return (
    /^[A-Za-z0-9_-]{16,}$/.test(segment) &&
    /[A-Za-z]/.test(segment) &&
    /\d/.test(segment) &&
    new Set(segment).size >= 8
  );
}

/**
 * ZSTACK_WEBHOOK_URL, its path made unguessable: job callbacks carry no credentials, so only a
 * secret path segment keeps others from forging them. A path without one gets a random segment
 * appended at start (`/zstack-webhook` → `/zstack-webhook/<24 random characters>`).
 */
export function webhookUrlVar(env: Env, p: Problems, secret: () => string): string | undefined {
  const url = urlVar(env, p, 'ZSTACK_WEBHOOK_URL', 'http://gateway:4000/zstack-webhook');
  if (url === undefined) return undefined;
  const path = new URL(url).pathname;
  if (OWN_PATHS.has(path)) {
    p.add(
      `ZSTACK_WEBHOOK_URL must not use the gateway's own path ${path}; use e.g. /zstack-webhook, got "${env.ZSTACK_WEBHOOK_URL}"`,
    );
    return undefined;
  }
  return path.split('/').some(isSecretSegment) ? url : `${url}/${secret()}`;
}

export function persistedOperationsVars(
  env: Env,
  p: Problems,
): Pick<Config, 'persistedOperationsFile' | 'persistedOperationsOnly'> {
  const file = env.PERSISTED_OPERATIONS_FILE?.trim() || undefined;
  const only = boolVar(env, p, 'PERSISTED_OPERATIONS_ONLY', false);
  // Without a manifest, "only persisted operations" would refuse every request.
  if (only && !file) p.add('PERSISTED_OPERATIONS_ONLY=true needs PERSISTED_OPERATIONS_FILE');
  return { persistedOperationsFile: file, persistedOperationsOnly: only };
}
