/**
 * Whether a value would take more than `maxBytes` as JSON text, counted from below (a string by its
 * length plus quotes: escapes and multi-byte characters only add), so a true answer is certain.
 * Iterative and stopped as soon as the count passes `maxBytes`: a value that repeats one large part
 * many times (a variable referenced 200 times) costs at most `maxBytes` of counting, not its
 * serialization.
 */
export function jsonTextExceeds(value: unknown, maxBytes: number): boolean {
  let bytes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') bytes += v.length + 2;
    else if (typeof v === 'number' || typeof v === 'boolean') bytes += String(v).length;
    else if (v === null) bytes += 4;
    else if (typeof v === 'object') {
      // The brackets and the commas between members.
      bytes += 1;
      if (Array.isArray(v)) {
        bytes += Math.max(v.length, 1);
        if (bytes > maxBytes) return true;
        for (const element of v) stack.push(element);
      } else {
        let members = 0;
        for (const key in v) {
          if (!Object.hasOwn(v, key)) continue;
          const child = (v as Record<string, unknown>)[key];
          // JSON.stringify leaves out undefined members; so does the count.
          if (child === undefined) continue;
          members++;
          bytes += key.length + 3;
          stack.push(child);
        }
        bytes += Math.max(members, 1);
      }
    }
    if (bytes > maxBytes) return true;
  }
  return false;
}
