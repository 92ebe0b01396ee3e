import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The console builds into web/dist, which `topup serve` serves at `/`; `vite dev` proxies the API. */
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 4000 },
  server: {
    proxy: { '/v1': 'http://127.0.0.1:3000', '/openapi.json': 'http://127.0.0.1:3000' },
  },
});
