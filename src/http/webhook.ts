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
