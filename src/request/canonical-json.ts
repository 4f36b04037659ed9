/**
 * JSON with object keys sorted and undefined dropped, so equal values give equal text. Iterative
 * with an explicit stack: values come from clients and from ZStack and may nest arbitrarily deep.
 * Like JSON.stringify, undefined in a list is `null`, and a top-level undefined is `null`.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  // Work items: a value to write, or text to write as is (brackets, commas, keys).
  const stack: ({ value: unknown } | string)[] = [{ value }];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown } | string;
    if (typeof item === 'string') {
      out.push(item);
      continue;
    }
    const v = item.value;
    if (v === null || typeof v !== 'object') {
      out.push(JSON.stringify(v) ?? 'null');
      continue;
    }
    if (Array.isArray(v)) {
      stack.push(']');
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ value: v[i] });
        if (i > 0) stack.push(',');
      }
      out.push('[');
      continue;
    }
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    stack.push('}');
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, x] = entries[i] as [string, unknown];
      stack.push({ value: x });
      stack.push(`${i > 0 ? ',' : ''}${JSON.stringify(key)}:`);
    }
    out.push('{');
  }
  return out.join('');
}
