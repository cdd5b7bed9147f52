import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * Builds the web UI into `ui/dist`, which the server serves at `/`. During `vite dev` the
 * API calls go to a server started separately with `npm start`.
 */
export default defineConfig({
  plugins: [react()],
  // Bundles go under /_app/: /assets/ is the main API's Asset model.
  build: { outDir: 'dist', assetsDir: '_app', emptyOutDir: true, sourcemap: true },
  server: {
    proxy: { '/auth': 'http://127.0.0.1:8080', '/manage': 'http://127.0.0.1:8080' },
  },
});
