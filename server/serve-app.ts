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
import { warmMapLayer } from './map-warmup.js';
import { chinaDate } from '../pipeline/iso-date.js';

export interface ServeApp {
  app: FastifyInstance;
  imagery: ImageryService;
  /** Builds the newest month's overviews and stretches in the background; resolves when done (never rejects). */
  warmed: Promise<void>;
  /**
   * Runs the map layer's query once (map-warmup.ts) once the app listens, in the background: the
   * server is ready without waiting for it. Resolves when done (never rejects: a failure is logged).
   */
  mapWarmed: Promise<void>;
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
  // The first map request after a start otherwise pays the database's own first run of its query
  // (0.3-1.3 s embedded). Not before listening: the embedded database runs one statement at a time,
  // and the start's own statements would wait behind it.
  const now = opts.now ?? (() => new Date());
  let mapWarming: Promise<void> | null = null;
  let markMapWarmed!: () => void;
  const mapWarmed = new Promise<void>((resolve) => (markMapWarmed = resolve));
  app.addHook('onListen', (done) => {
    mapWarming ??= warmMapLayer(opts.db, chinaDate(now()))
      .then(
        (kind) => void app.log.debug(`map layer warmed (${kind})`),
        (err: unknown) => void app.log.warn({ err }, 'map layer warm-up failed; the first map request runs its query cold'),
      )
      .finally(markMapWarmed);
    done();
  });
  // The database closes after the app: not under a warm-up statement still running.
  app.addHook('onClose', async () => {
    await mapWarming;
  });
  return { app, imagery, warmed, mapWarmed };
}
