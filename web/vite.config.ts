import { defineConfig } from "vite";

// The UI is served by `spirit serve` from the binary; `npm run dev` proxies the API to a
// server on 127.0.0.1:8080 for working on the UI.
export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/openapi.json": "http://127.0.0.1:8080",
    },
  },
});
