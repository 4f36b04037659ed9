import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The documentation as reference: every relative link of README.md, docs/*.md and the simulator's
 * README lands on a file of the repository, and every `#anchor` on a heading of its page; and the
 * architecture page's "Where things live" names exactly the folders of src/; and the configuration
 * page's one table has a row for every variable the configuration code reads.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const PAGES = [
  'README.md',
  'src/simulator/README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^```/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.+?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = (heading[1] ?? '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replaceAll(' ', '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** The page's markdown links and images outside code (fenced blocks and `inline code`). */
function linksOf(markdown: string): { target: string; line: number }[] {
  const links: { target: string; line: number }[] = [];
  let fenced = false;
  markdown.split('\n').forEach((line, i) => {
    if (/^```/.test(line)) fenced = !fenced;
    if (fenced) return;
    for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g))
      links.push({ target: m[1] as string, line: i + 1 });
  });
  return links;
}

const read = (page: string) => readFileSync(join(ROOT, page), 'utf8');

describe('documentation links', () => {
  it('covers the README, the simulator README and every docs/ page', () => {
    expect(PAGES).toEqual(
      expect.arrayContaining([
        'README.md',
        'docs/configuration.md',
        'docs/errors.md',
        'docs/operations.md',
        'docs/several-gateways.md',
        'docs/architecture.md',
        'docs/performance.md',
      ]),
    );
  });

  it.each(PAGES)(
    '%s: every relative link resolves to a file in the repository, every #anchor to a heading',
    (page) => {
      const broken: string[] = [];
      for (const { target, line } of linksOf(read(page))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        const [path = '', anchor] = target.split('#', 2);
        const file = path === '' ? join(ROOT, page) : resolve(ROOT, dirname(page), decodeURI(path));
        const at = `${page}:${line}: ${target}`;
        if (!file.startsWith(`${ROOT}/`) || relative(ROOT, file).startsWith('..'))
          broken.push(`${at} (outside)`);
        else if (!existsSync(file)) broken.push(`${at} (no such file)`);
        else if (anchor !== undefined) {
          if (!file.endsWith('.md') || statSync(file).isDirectory())
            broken.push(`${at} (anchor into a non-page)`);
          else if (!anchorsOf(readFileSync(file, 'utf8')).has(anchor)) broken.push(`${at} (no such heading)`);
        }
      }
      expect(broken).toEqual([]);
    },
  );

  it('the README stays a ten-minute read (under 250 lines)', () => {
    expect(read('README.md').split('\n').length).toBeLessThan(250);
  });

  it('docs/architecture.md "Where things live" lists exactly the folders of src/', () => {
    const page = read('docs/architecture.md');
    const start = page.indexOf('\n## Where things live\n');
    expect(start).toBeGreaterThan(-1);
    const section = page.slice(start + 1, page.indexOf('\n## ', start + 1));
    const listed = [...section.matchAll(/^\| `(src\/[^`]*)` \|/gm)].map((m) =>
      (m[1] as string).replace(/\/$/, ''),
    );
    const folders: string[] = [];
    const walk = (dir: string) => {
      folders.push(relative(ROOT, dir));
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
    };
    walk(join(ROOT, 'src'));
    expect(listed.sort()).toEqual(folders.sort());
  });

  it('docs/configuration.md has a row for every variable src/config*.ts reads', () => {
    const page = read('docs/configuration.md');
    const documented = new Set<string>();
    for (const line of page.split('\n')) {
      const first = /^\| ([^|]+) \|/.exec(line)?.[1];
      for (const m of first?.matchAll(/`([A-Z][A-Z0-9_]+)`/g) ?? []) documented.add(m[1] as string);
    }
    // Wherever the configuration code lives (src/config.ts, or a src/config/ folder), its quoted
    // SCREAMING_SNAKE names are the variables it reads.
    const sources: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, e.name);
        if (e.isDirectory()) walk(path);
        else if (/\.ts$/.test(e.name) && /(^|\/)config(\/|[.-])/.test(relative(join(ROOT, 'src'), path)))
          sources.push(path);
      }
    };
    walk(join(ROOT, 'src'));
    expect(sources.length).toBeGreaterThan(0);
    const read_ = new Set<string>();
    for (const path of sources)
      for (const m of readFileSync(path, 'utf8').matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g))
        read_.add(m[1] as string);
    expect(read_.size).toBeGreaterThan(40);
    expect([...read_].filter((name) => !documented.has(name)).sort()).toEqual([]);
  });
});
