/** The program's path: `name` on PATH (or `override` when that is set), or undefined. */
export function findProgram(name: string, override?: string): string | undefined;
