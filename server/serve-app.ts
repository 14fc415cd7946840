/**
 * The app `tuban serve` runs, assembled in one place so the browser test starts the very same one:
 * the triage API (`app.ts`) with the imagery tiles as a plugin of its authenticated context, chips
 * cut by the imagery service, the page from `web/`, and MapLibre from node_modules (public: the
 * sign-in page loads it). The imagery service is closed with the app.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from './app.js';
import { imageryPlugin } from './imagery-routes.js';
import { createImageryService, type ImageryService } from './imagery/imagery-service.js';
import { vendorRoutes } from './vendor-routes.js';

export interface ServeApp {
  app: FastifyInstance;
  imagery: ImageryService;
  /** Builds the newest month's overviews and stretches in the background; resolves when done (never rejects). */
  warmed: Promise<void>;
}

export async function buildServeApp(opts: Omit<AppOptions, 'chips'>): Promise<ServeApp> {
  const imagery = createImageryService(opts.db);
  const app = await buildApp({
    ...opts,
    plugins: [imageryPlugin(imagery), ...(opts.plugins ?? [])],
    chips: (feature, side) => imagery.chipFor(feature, side),
  });
  await app.register(vendorRoutes);
  app.addHook('onClose', async () => imagery.close());
  // The first map view of a month otherwise waits for a whole-tile decode per satellite tile.
  const warmed = imagery
    .epochs()
    .then((months) => (months[0] ? imagery.warm(months[0]) : undefined))
    .catch((err: unknown) => app.log.warn({ err }, 'imagery warm-up failed; tiles are built on first request'));
  return { app, imagery, warmed };
}
