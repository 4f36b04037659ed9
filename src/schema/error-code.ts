import { ErrorCode, errorCodeDescriptions } from '../errors.js';
import { builder } from './builder.js';

/**
 * The codes of `extensions.code`, as an enum so generated clients type them: built from the one
 * list in src/errors.ts, so the schema cannot name a code the gateway does not send or miss one it
 * does. No field returns it (errors are not data); the schema lists it like every type it builds.
 */
export const ErrorCodeEnum = builder.enumType('ErrorCode', {
  description:
    "Every value the gateway puts in an error's `extensions.code`: what happened and what a client should do. `extensions` may carry more (`field`, `limit`, `scope`, `jobUuid`, `mayHaveBeenApplied`, `zstack`), as the README says per code.",
  values: Object.fromEntries(
    Object.values(ErrorCode).map((code) => [code, { value: code, description: errorCodeDescriptions[code] }]),
  ) as Record<ErrorCode, { value: ErrorCode; description: string }>,
});
