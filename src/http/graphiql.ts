import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type GraphiQLOptions, type Plugin, renderGraphiQL } from 'graphql-yoga';

// Yoga's page loads GraphiQL from unpkg; air-gapped operators (and the browser test) cannot reach it,
// so the gateway serves the installed @graphql-yoga/graphiql files itself.
const require = createRequire(import.meta.url);
const packageJsonPath = require.resolve('@graphql-yoga/graphiql/package.json');
const distDir = join(dirname(packageJsonPath), 'dist');
const graphiqlVersion = (require(packageJsonPath) as { version: string }).version;

/** Where the GraphiQL assets are served; the version in the path makes them safe to cache forever. */
export const GRAPHIQL_ASSETS_PATH = `/graphiql-assets/${graphiqlVersion}/`;

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
export function renderLocalGraphiQL(options: GraphiQLOptions): string {
  // @graphql-yoga/graphiql 4.5 opens `query` (else its own welcome text) and never reads `defaultQuery`.
  const opened: GraphiQLOptions & { query?: string } = { ...options, query: options.defaultQuery };
  const html = renderGraphiQL(opened)
    .replace(CDN_DIST, GRAPHIQL_ASSETS_PATH)
    // An empty data: icon also stops the browser from asking for /favicon.ico.
    .replace(FAVICON, '<link rel=icon href="data:,">');
  // A yoga upgrade that adds another CDN URL must fail loudly here, not silently in an offline browser.
  const external = html.match(/(?:src|href)=["']?https?:\/\/[^\s"'>]+|["']https?:\/\/[^"']+\.(?:js|css)["']/);
  if (external) throw new Error(`GraphiQL page still loads an external asset: ${external[0]}`);
  return html;
}

/** Serves GraphiQL's JS, CSS and editor workers under GRAPHIQL_ASSETS_PATH (GET/HEAD only). */
export function useGraphiQLAssets(): Plugin {
  const cache = new Map<string, Promise<Buffer>>();
  return {
    onRequest({ request, url, fetchAPI, endResponse }) {
      if (!url.pathname.startsWith(GRAPHIQL_ASSETS_PATH)) return;
      const name = url.pathname.slice(GRAPHIQL_ASSETS_PATH.length);
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
