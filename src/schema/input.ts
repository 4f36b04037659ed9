import { badInput } from '../errors.js';

const UUID = /^[0-9a-fA-F]{32}$/;

/** A ZStack uuid (32 hex, any case) as ZStack wants it (lowercase); anything else is refused before any call. */
export function parseUuid(value: string, field: string): string {
  if (!UUID.test(value))
    throw badInput(`${field} must be a ZStack uuid: 32 hexadecimal characters without dashes.`, field);
  return value.toLowerCase();
}

/** Refuses a text longer than ZStack accepts for the field. */
export function checkLength(
  value: string | null | undefined,
  max: number,
  field: string,
): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value.length > max)
    throw badInput(`${field} must be at most ${max} characters (got ${value.length}).`, field);
  return value;
}

/** System and user tags: every tag a non-empty string. */
export function checkTags(tags: readonly string[] | null | undefined, field: string): string[] | undefined {
  if (tags === null || tags === undefined) return undefined;
  if (tags.some((tag) => tag.length === 0)) throw badInput(`${field} must not contain an empty tag.`, field);
  return [...tags];
}
