import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The app is served by Stacklet at `/`; the APIs are on the same origin, so
// the dev server proxies them to a running Stacklet (STACKLET_URL).
const target = process.env['STACKLET_URL'] ?? 'http://127.0.0.1:8780';
const apis = ['/identity', '/compute', '/network', '/image', '/stacklet', '/console'];

export default defineConfig({
  plugins: [react()],
  build: {
    // noVNC uses top-level await.
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 600,
  },
  server: { proxy: Object.fromEntries(apis.map((p) => [p, { target, ws: p === '/console' }])) },
});
