import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{geo,pipeline,workers,schemas,fixtures,scripts,server,web}/**/*.test.ts'],
    exclude: ['node_modules', 'dist'],
    pool: 'forks',
    // PGlite + PostGIS takes ~15 s to start; raster tests decode real files.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
