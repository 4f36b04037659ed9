import { randomUUID } from 'node:crypto';
import { ApiError } from './render.js';

/** Who a session acts as; the ticket rules are decided from this, never from the wire fields. */
export type Principal =
  | { kind: 'account'; uuid: string }
  | { kind: 'user'; uuid: string; accountUuid: string }
  | { kind: 'virtualId'; uuid: string; accountUuid: string };

export interface Session {
  uuid: string;
  accountUuid: string;
  userUuid: string;
  createDate: number;
  expiredDate: number;
  principal: Principal;
}

/** Sessions with ZStack's sliding expiry (every evaluated call pushes expiredDate to now + timeout). */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly timeoutSec: number,
    /** Epoch ms now (tests move it by hand). */
    private readonly now: () => number = Date.now,
  ) {}

  create(principal: Principal): Session {
    const now = this.now();
    const accountUuid = principal.kind === 'account' ? principal.uuid : principal.accountUuid;
    const s: Session = {
      uuid: randomUUID().replace(/-/g, ''),
      accountUuid,
      userUuid: principal.uuid,
      createDate: now,
      expiredDate: now + this.timeoutSec * 1000,
      principal,
    };
    this.sessions.set(s.uuid, s);
    return s;
  }

  /** AuthorizationManager.evaluateSession: ID.1001 for unknown/expired (and drops it), else renews. */
  evaluate(uuid: string): Session {
    const s = this.sessions.get(uuid);
    if (!s || s.expiredDate <= this.now()) {
      this.sessions.delete(uuid);
      throw new ApiError('ID.1001', 'Session expired');
    }
    s.expiredDate = this.now() + this.timeoutSec * 1000;
    return s;
  }

  /** ValidateSession: checks without renewing. */
  isValid(uuid: string): boolean {
    const s = this.sessions.get(uuid);
    return s !== undefined && s.expiredDate > this.now();
  }

  get(uuid: string): Session | undefined {
    return this.sessions.get(uuid);
  }

  renew(uuid: string, durationSec: number | undefined): Session {
    const s = this.sessions.get(uuid);
    if (!s || s.expiredDate <= this.now()) {
      this.sessions.delete(uuid);
      throw new ApiError('ID.1001', 'Session expired');
    }
    s.expiredDate = this.now() + (durationSec ?? this.timeoutSec) * 1000;
    return s;
  }

  logout(uuid: string): void {
    this.sessions.delete(uuid);
  }

  expire(uuid: string): void {
    const s = this.sessions.get(uuid);
    if (s) s.expiredDate = 0;
  }

  clear(): void {
    this.sessions.clear();
  }
}

/** SessionInventory as a login reply carries it (userType is never set by a real login). */
export function sessionInventory(s: Session): Record<string, unknown> {
  return {
    uuid: s.uuid,
    accountUuid: s.accountUuid,
    userUuid: s.userUuid,
    expiredDate: s.expiredDate,
    createDate: s.createDate,
    noSessionEvaluation: false,
  };
}
