import type { IncomingMessage } from 'node:http';

/**
 * Reads a request body, giving up as soon as it passes `max` bytes (undefined then; the rest is
 * discarded so the client can read the refusal).
 */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.off('data', onData);
        req.off('end', onEnd);
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    // Small bodies arrive in one chunk: no copy then.
    const onEnd = () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
}
