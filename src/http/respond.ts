import type { ServerResponse } from 'node:http';

const JSON_TYPE = 'application/json; charset=utf-8';

/** Writes a whole answer in one go, with its length. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  contentType = JSON_TYPE,
  headers?: Record<string, string>,
): void {
  const head: Record<string, string | number> = {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
  };
  if (headers !== undefined) Object.assign(head, headers);
  res.writeHead(status, head);
  res.end(body);
}
