import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ZStackClient } from '../zstack/client.js';

/** Job uuids as ZStack writes them (32 hex), with room for other ids; anything else is refused. */
const JOB_ID = /^[0-9A-Za-z-]{1,64}$/;

/** The path part of ZSTACK_WEBHOOK_URL: where this gateway answers ZStack's job callbacks. */
export function webhookPath(webhookUrl: string): string {
  const path = new URL(webhookUrl).pathname;
  return path === '' ? '/' : path;
}

/**
 * Answers one ZStack job callback and returns its HTTP status: 405 for anything but POST, 400 when
 * X-Job-UUID or X-Job-Success is missing (as ZStack's Java SDK receiver does), else 200. The
 * callback is unauthenticated, so it only wakes the poll of that job: polling fetches the real
 * result, and a callback for a job nobody waits for changes nothing.
 */
export function answerWebhook(
  method: string,
  header: (name: string) => string | null | undefined,
  client: Pick<ZStackClient, 'notifyJobDone'>,
): number {
  if (method !== 'POST') return 405;
  const jobUuid = header('x-job-uuid');
  const success = header('x-job-success');
  if (!jobUuid || !success) return 400;
  if (!JOB_ID.test(jobUuid)) return 400;
  client.notifyJobDone(jobUuid);
  return 200;
}

/**
 * A job callback: the body is read up to ZSTACK_WEBHOOK_MAX_BODY_BYTES and discarded (413 and the
 * connection closed past it); only a complete, valid callback wakes that job's poll (answerWebhook).
 */
export function serveWebhook(
  req: IncomingMessage,
  res: ServerResponse,
  maxBodyBytes: number,
  client: Pick<ZStackClient, 'notifyJobDone'>,
): void {
  const header = (name: string) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  const tooLargeHook = () => {
    res.writeHead(413, { connection: 'close' });
    res.end();
    // Whatever else the sender streams is not read: the connection goes once the 413 is out.
    res.once('finish', () => req.destroy());
  };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBodyBytes) {
    tooLargeHook();
    return;
  }
  let size = 0;
  let over = false;
  req.on('error', () => res.destroy());
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > maxBodyBytes) {
      over = true;
      req.pause();
      tooLargeHook();
    }
  });
  req.once('end', () => {
    if (over) return;
    const status = answerWebhook(req.method ?? 'GET', header, client);
    res.writeHead(status, status === 405 ? { allow: 'POST' } : {});
    res.end();
  });
}
