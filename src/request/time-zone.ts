import type { ZStackClient } from '../zstack/client.js';
import { getPlatformTimeZone } from '../zstack/sessions.js';

/**
 * The zone of ZStack's zone-less Java date strings: configured, or learned once from ZStack's
 * platform-timezone API (which needs a session, so the first caller's session is used).
 */
export interface TimeZoneSource {
  /** The zone if known now; resolvers that render dates call `ensure` first. */
  readonly current: string | undefined;
  ensure(session: string | undefined): Promise<string> | string;
}

export function createTimeZoneSource(client: ZStackClient, configured: string | undefined): TimeZoneSource {
  let current = configured;
  let pending: Promise<string> | undefined;
  return {
    get current() {
      return current;
    },
    ensure(session: string | undefined): Promise<string> | string {
      if (current) return current;
      // Without a session ZStack cannot be asked; UTC until a caller with a session comes.
      if (!session) return 'UTC';
      if (pending) return pending;
      // Shared by concurrent callers, so no caller's abort signal may cancel it.
      const lookup = getPlatformTimeZone(client, { session })
        .then((tz: { timezone?: string; offset?: string }) => {
          const learned = usableZone(tz.timezone) ?? usableZone(tz.offset) ?? 'UTC';
          current = learned;
          return learned;
        })
        // Not learned (e.g. the session may not call the API): UTC for now, asked again next time.
        .catch(() => 'UTC')
        .finally(() => {
          pending = undefined;
        });
      pending = lookup;
      return lookup;
    },
  };
}

/** An IANA zone or ±HH:MM offset that date parsing understands, else undefined. */
function usableZone(zone: string | undefined): string | undefined {
  if (!zone) return undefined;
  if (/^[+-]\d{2}:\d{2}$/.test(zone)) return zone;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    return undefined;
  }
}
