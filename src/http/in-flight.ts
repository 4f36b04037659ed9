import type { ServerResponse } from 'node:http';

/** The GraphQL responses not finished yet, for the drain: who to close, and when all are done. */
export class InFlight {
  private readonly responses = new Set<ServerResponse>();
  private waiters: (() => void)[] = [];

  get size(): number {
    return this.responses.size;
  }

  add(res: ServerResponse): void {
    this.responses.add(res);
  }

  finished(res: ServerResponse): void {
    this.responses.delete(res);
    if (this.responses.size === 0 && this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  }

  /** Responses still being computed close their connection when done, so keep-alive clients let go. */
  closeWhenDone(): void {
    for (const res of this.responses) if (!res.headersSent) res.setHeader('connection', 'close');
  }

  /** Resolves once no response is in flight. */
  idle(): Promise<void> {
    return this.responses.size === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}
