import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSimulatorOptions } from '../../src/simulator/options.js';
import { sha512 } from './support.js';

describe('loadSimulatorOptions', () => {
  it.each<[string, string[], Record<string, string>, number]>([
    ['the default', [], {}, 7200],
    ['the env var', [], { SIMULATOR_SESSION_TIMEOUT_SEC: '120' }, 120],
    ['the flag', ['--session-timeout-sec', '90'], {}, 90],
    ['the flag over the env var', ['--session-timeout-sec=90'], { SIMULATOR_SESSION_TIMEOUT_SEC: '120' }, 90],
  ])('session timeout from %s', (_name, argv, env, expected) => {
    expect(loadSimulatorOptions(argv, env).sessionTimeoutSec).toBe(expected);
  });

  it.each([['0'], ['-5'], ['1.5'], ['2h']])('refuses a session timeout of %s', (value) => {
    expect(() => loadSimulatorOptions([`--session-timeout-sec=${value}`], {})).toThrow(/session timeout/);
    expect(() => loadSimulatorOptions([], { SIMULATOR_SESSION_TIMEOUT_SEC: value })).toThrow(
      /session timeout/,
    );
  });
});

let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

/** Parses Java's `Jun 7, 2024 1:20:28 PM` (UTC) to epoch ms. */
function javaDateMs(s: string): number {
  const m = /^([A-Z][a-z]{2}) (\d{1,2}), (\d{4}) (\d{1,2}):(\d{2}):(\d{2}) ([AP]M)$/.exec(s);
  if (!m) throw new Error(`not a Java date: ${s}`);
  const [, mon, day, year, h, mi, sec, ampm] = m as unknown as string[];
  const month = 'JanFebMarAprMayJunJulAugSepOctNovDec'.indexOf(mon as string) / 3;
  const hour = (Number(h) % 12) + (ampm === 'PM' ? 12 : 0);
  return Date.UTC(Number(year), month, Number(day), hour, Number(mi), Number(sec));
}

describe('npm run simulator', () => {
  it('SIMULATOR_SESSION_TIMEOUT_SEC sets the sessions’ lifetime on the wire', async () => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/simulator/main.ts', '--port', '0', '--no-seed'],
      {
        env: { ...process.env, SIMULATOR_SESSION_TIMEOUT_SEC: '90', SIMULATOR_TIME_ZONE: 'UTC' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = proc;
    let out = '';
    const listening = new Promise<string>((resolve, reject) => {
      const onData = (d: Buffer) => {
        out += d.toString();
        const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
        if (url) resolve(url);
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', onData);
      proc.once('exit', (code) => reject(new Error(`the simulator exited (${code}): ${out}`)));
    });
    const url = await listening;
    expect(out).toContain(`ZSTACK_URL=${url}`);
    expect(out).toContain('sessions expire 90 s after their last use');

    const res = await fetch(`${url}/v1/accounts/login`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ logInByAccount: { accountName: 'admin', password: sha512('password') } }),
    });
    expect(res.status).toBe(200);
    const { inventory } = (await res.json()) as { inventory: { createDate: string; expiredDate: string } };
    expect(javaDateMs(inventory.expiredDate) - javaDateMs(inventory.createDate)).toBe(90_000);
  }, 20_000);

  it('refuses a malformed setting before listening', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/simulator/main.ts', '--port', '0'], {
      env: { ...process.env, SIMULATOR_SESSION_TIMEOUT_SEC: 'soon' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toContain(
      'Invalid simulator setting: session timeout must be a non-negative integer, got soon',
    );
  }, 20_000);
});
