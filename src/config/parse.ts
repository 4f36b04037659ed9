/** Reading one variable: whole numbers in a range, booleans, URLs, time zones, origins; problems collected, never thrown one by one. */
import { redactCredentials } from '../observability/redact.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
  /**
   * Every problem found, one sentence each, naming the variable and its value as typed, except for
   * URL credentials (`http://admin:[redacted]@…`): these sentences reach logs and terminals.
   */
  readonly problems: readonly string[];
  constructor(problems: string | readonly string[]) {
    const list = (typeof problems === 'string' ? [problems] : problems).map(redactCredentials);
    super(list.join('; '));
    this.problems = list;
  }
}

export type Env = Record<string, string | undefined>;

/** Collects every problem of one environment, so an operator fixes them all in one round. */
export class Problems {
  readonly list: string[] = [];
  add(message: string): void {
    this.list.push(message);
  }
}

export function intVar(
  env: Env,
  p: Problems,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    p.add(`${name} must be a whole number, got "${raw}"`);
    return fallback;
  }
  const value = Number(raw);
  if (value < min || value > max) {
    p.add(`${name} must be between ${min} and ${max}, got "${raw}"`);
    return fallback;
  }
  return value;
}

export function boolVar(env: Env, p: Problems, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  p.add(`${name} must be true or false, got "${env[name]}"`);
  return fallback;
}

export function urlVar(env: Env, p: Problems, name: string, example: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  // `zstack:8080` parses as a URL whose scheme is "zstack:": say what was typed, not what parsed.
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    p.add(`${name} must be an absolute http(s) URL like ${example}, got "${env[name]}"`);
    return undefined;
  }
  if (url.search || url.hash || url.username || url.password) {
    p.add(`${name} must not carry a query, fragment or credentials, got "${env[name]}"`);
    return undefined;
  }
  return url.toString().replace(/\/+$/, '');
}

export function timeZoneVar(env: Env, p: Problems, name: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (/^[+-]\d{2}:\d{2}$/.test(raw)) return raw;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: raw });
  } catch {
    p.add(
      `${name} must be an IANA time zone (e.g. Asia/Shanghai) or an offset like +08:00, got "${env[name]}"`,
    );
    return undefined;
  }
  return raw;
}

export function optionalPort(env: Env, p: Problems, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const before = p.list.length;
  const port = intVar(env, p, name, 0, 0, 65535);
  return p.list.length > before ? undefined : port;
}

export function originsVar(env: Env, p: Problems, name: string): string[] {
  const raw = env[name]?.trim();
  if (!raw) return [];
  const origins: string[] = [];
  for (const entry of raw.split(',')) {
    const text = entry.trim();
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== text) {
      p.add(`${name} must list origins like https://console.example.com, got "${text}"`);
    } else origins.push(url.origin);
  }
  return origins;
}
