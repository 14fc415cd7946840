/**
 * MapLibre GL JS for the page, served from the npm package at run time (no CDN, no copy in the
 * repository): GET /vendor/maplibre-gl.js and /vendor/maplibre-gl.css. Public (the login page
 * loads them before anyone signs in); register in the server's public context.
 */
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);

/** The package's dist folder, found through Node's resolution (works from dist/ and from source). */
export function maplibreDist(): string {
  return dirname(require.resolve('maplibre-gl/dist/maplibre-gl.js'));
}

const FILES: Record<string, string> = {
  'maplibre-gl.js': 'text/javascript; charset=utf-8',
  'maplibre-gl.css': 'text/css; charset=utf-8',
};

export async function vendorRoutes(app: FastifyInstance): Promise<void> {
  const dist = maplibreDist();
  for (const [name, type] of Object.entries(FILES)) {
    // The package version pins the bytes, so a day of caching is safe; a new version is a new deploy.
    app.get(`/vendor/${name}`, async (_req, reply) => reply.type(type).header('Cache-Control', 'public, max-age=86400').send(createReadStream(join(dist, name))));
  }
}
