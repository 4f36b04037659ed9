import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type GraphiQLOptions, type Plugin, renderGraphiQL } from 'graphql-yoga';

// Yoga's page loads GraphiQL from unpkg; air-gapped operators (and the browser test) cannot reach it,
// so the gateway serves the installed @graphql-yoga/graphiql files itself. That package (with
// monaco and react, ~260 MB) is an optional dependency: a runtime installed without it serves no page.
const require = createRequire(import.meta.url);

/** The GraphiQL page and its assets, from an installed @graphql-yoga/graphiql. */
export interface GraphiQL {
  /** Where the assets are served; the version in the path makes them safe to cache forever. */
  assetsPath: string;
  /** Yoga's page with every asset URL pointing at this gateway. */
  render(options: GraphiQLOptions): string;
  /** Serves the assets under `assetsPath`. */
  plugin(): Plugin;
}

/** GraphiQL from the installed package, or undefined when it is not installed (npm ci --omit=optional). */
export function loadGraphiQL(packageName = '@graphql-yoga/graphiql'): GraphiQL | undefined {
  let packageJsonPath: string;
  try {
    packageJsonPath = require.resolve(`${packageName}/package.json`);
  } catch {
    return undefined;
  }
  const distDir = join(dirname(packageJsonPath), 'dist');
  const version = (require(packageJsonPath) as { version: string }).version;
  const assetsPath = `/graphiql-assets/${version}/`;
  return {
    assetsPath,
    render: (options) => renderLocalGraphiQL(options, assetsPath),
    plugin: () => useGraphiQLAssets(distDir, assetsPath),
  };
}

// An allow-list, not a directory: no request path ever reaches the file system.
const ASSETS: Record<string, string> = {
  'graphiql.css': 'text/css; charset=utf-8',
  'yoga-graphiql.umd.js': 'text/javascript; charset=utf-8',
  'monacoeditorwork/editor.worker.bundle.js': 'text/javascript; charset=utf-8',
  'monacoeditorwork/json.worker.bundle.js': 'text/javascript; charset=utf-8',
  'monacoeditorwork/graphql.worker..bundle.js': 'text/javascript; charset=utf-8',
};

const CDN_DIST = /https:\/\/unpkg\.com\/@graphql-yoga\/graphiql@[^/"'\s>]+\/dist\//g;
const FAVICON = /<link rel=icon href=[^>]*>/;

/** Yoga's GraphiQL page with every asset URL pointing at this gateway; throws if any external URL is left. */
function renderLocalGraphiQL(options: GraphiQLOptions, assetsPath: string): string {
  // @graphql-yoga/graphiql 4.5 opens `query` (else its own welcome text) and never reads `defaultQuery`.
  const opened: GraphiQLOptions & { query?: string } = { ...options, query: options.defaultQuery };
  const html = renderGraphiQL(opened)
    .replace(CDN_DIST, assetsPath)
    // An empty data: icon also stops the browser from asking for /favicon.ico.
    .replace(FAVICON, '<link rel=icon href="data:,">');
  // A yoga upgrade that adds another CDN URL must fail loudly here, not silently in an offline browser.
  const external = html.match(/(?:src|href)=["']?https?:\/\/[^\s"'>]+|["']https?:\/\/[^"']+\.(?:js|css)["']/);
  if (external) throw new Error(`GraphiQL page still loads an external asset: ${external[0]}`);
  return html;
}

/** Serves GraphiQL's JS, CSS and editor workers under `assetsPath` (GET/HEAD only). */
function useGraphiQLAssets(distDir: string, assetsPath: string): Plugin {
  const cache = new Map<string, Promise<Buffer>>();
  return {
    onRequest({ request, url, fetchAPI, endResponse }) {
      if (!url.pathname.startsWith(assetsPath)) return;
      const name = url.pathname.slice(assetsPath.length);
      // Own keys only: `constructor` or `__proto__` must be a 404, not a file read.
      const contentType = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
      if (!contentType || (request.method !== 'GET' && request.method !== 'HEAD')) {
        endResponse(new fetchAPI.Response('Not found', { status: 404 }));
        return;
      }
      let body = cache.get(name);
      if (!body) {
        body = readFile(join(distDir, name));
        cache.set(name, body);
        // A failed read is not cached and never shows the file system path.
        body.catch(() => cache.delete(name));
      }
      return body.then(
        (bytes) =>
          endResponse(
            new fetchAPI.Response(request.method === 'HEAD' ? null : new Uint8Array(bytes), {
              status: 200,
              headers: {
                'content-type': contentType,
                'content-length': String(bytes.length),
                'cache-control': 'public, max-age=31536000, immutable',
              },
            }),
          ),
        () => endResponse(new fetchAPI.Response('Not found', { status: 404 })),
      );
    },
  };
}
