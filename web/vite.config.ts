/// <reference types="vitest/config" />
import { defineConfig, loadEnv } from 'vite';
import react from '@vitejs/plugin-react';

// The browser only ever talks to one origin. In production cmd/web serves dist/ and
// reverse-proxies /api/command/* and /api/query/*; `npm run dev` does the same here.
export default defineConfig(({ mode }) => {
  const env = { ...loadEnv(mode, process.cwd(), ''), ...process.env };
  const commandAPI = env.COMMAND_API ?? 'http://127.0.0.1:8081';
  const queryAPI = env.QUERY_API ?? 'http://127.0.0.1:8082';
  return {
    plugins: [react()],
    server: {
      host: '127.0.0.1',
      port: 5173,
      proxy: {
        '/api/command': {
          target: commandAPI,
          changeOrigin: true,
          rewrite: (path) => path.replace(/^\/api\/command/, ''),
        },
        '/api/query': {
          target: queryAPI,
          changeOrigin: true,
          rewrite: (path) => path.replace(/^\/api\/query/, ''),
        },
      },
    },
    build: {
      outDir: 'dist',
      // No source maps in the production build: they would publish the whole
      // TypeScript source (cmd/web refuses *.map as well).
      sourcemap: false,
      chunkSizeWarningLimit: 1500,
    },
    test: {
      environment: 'jsdom',
      globals: true,
      setupFiles: ['./src/test/setup.ts'],
      include: ['src/**/*.test.{ts,tsx}'],
      css: false,
      restoreMocks: true,
      // Component tests type like a person; on a busy 2-core machine that takes a few seconds.
      testTimeout: 20_000,
    },
  };
});
