import { request } from 'undici';
import { expect } from 'vitest';

/**
 * POSTs one ZStack job callback (`X-Job-UUID`, `X-Job-Success`, a body) to `url`, as ZStack's
 * webhook mode does, and answers its HTTP status.
 */
export async function postJobCallback(
  url: string,
  jobUuid: string,
  options: { success?: 'true' | 'false'; body?: string; contentType?: string } = {},
): Promise<number> {
  const headers: Record<string, string> = {
    'x-job-uuid': jobUuid,
    'x-job-success': options.success ?? 'true',
  };
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  const res = await request(url, { method: 'POST', headers, body: options.body ?? '{}' });
  await res.body.dump();
  return res.statusCode;
}

/**
 * Sends forged "done" callbacks for `jobUuid` to `url`, one after another, while `running()` holds;
 * every one must be answered 200. Answers how many were sent.
 */
export async function forgeCallbacksWhileRunning(
  url: string,
  jobUuid: string,
  running: () => boolean,
): Promise<number> {
  let sent = 0;
  while (running()) {
    expect(await postJobCallback(url, jobUuid)).toBe(200);
    sent++;
  }
  return sent;
}
