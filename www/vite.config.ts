import { defineConfig } from 'vite';

// The app is plain TypeScript; the wasm of terrapin-web is imported as an asset URL
// (`terrapin-web/wasm?url`) and handed to Client.open, so no wasm plugin is needed.
// The build goes to dist/app/: served as the worker's static assets (directory www/dist) the
// viewer lives at /app/ and never shadows the API's own routes (GET / is the server's homage).
// base './' keeps every URL relative, so the app also works from any other path.
export default defineConfig({
  base: './',
  build: {
    target: 'es2022',
    outDir: 'dist/app',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
  optimizeDeps: { exclude: ['terrapin-web'] },
  server: { host: '127.0.0.1', port: 5173, strictPort: false },
  preview: { host: '127.0.0.1', port: 4173 },
});
