/**
 * Waits until `condition` holds, checking every few ms; throws "timed out waiting for <what>" after
 * `timeoutMs`. The one way a test waits for something: never a fixed sleep standing in for it.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
