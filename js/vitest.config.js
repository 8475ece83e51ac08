import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // Runtimes are inlined by build.mjs; unit tests import their sources directly and never load them.
    alias: { "runtime:link": new URL("./test/runtime-stub.js", import.meta.url).pathname,
             "runtime:editor": new URL("./test/runtime-stub.js", import.meta.url).pathname },
  },
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.js"],
    setupFiles: ["test/setup.js"],
    restoreMocks: true,
  },
});
