/**
 * A URL's userinfo in free text (`scheme://user:password@host`, `redis://:password@host`,
 * `scheme://token@host`): whatever a ZSTACK_URL, REDIS_URL or exporter endpoint was typed as.
 */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:"']*)(:?)[^\s/?#"']*@/gi;
/** What is left of a password in a mistyped URL (`redis:/:secret@host`, `redis//:secret@host`). */
const COLON_AT = /:[^\s/?#@:"']+@/g;

/**
 * Text on its way to a log line, an error or a terminal, with every URL credential replaced by
 * `[redacted]`: a password goes and its user name stays (it tells an operator which account was
 * meant); a userinfo without a colon (some clients read it as a password) goes whole. Secrets that
 * are a whole variable (REDIS_KEY_SECRET) are never quoted in the first place; this is for values
 * quoted as typed (configuration errors) and for messages of libraries that repeat a URL.
 */
export function redactCredentials(text: string): string {
  return text
    .replace(USERINFO, (_all, scheme: string, user: string, colon: string) =>
      colon ? `${scheme}${user}:[redacted]@` : `${scheme}[redacted]@`,
    )
    .replace(COLON_AT, ':[redacted]@');
}
