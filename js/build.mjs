// Bundle each widget view into one self-contained ESM file in src/nbrealtime/static/, plus the shared stylesheet.
// The heavy libraries are runtimes (RUNTIMES): bundled first, then inlined as text into the widget modules that
// import "runtime:<name>", which evaluate them once per page (src/lib/runtime.js).
// Usage: node build.mjs [--dev]
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { mkdir, stat } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, "..", "src", "nbrealtime", "static");
export const WIDGETS = ["presence", "notifications", "table", "conflicts", "sync", "editor", "panel", "livetable", "share"];
export const RUNTIMES = { editor: "src/editor/view.js", link: "src/link/index.js" };

const dev = process.argv.includes("--dev");
const common = { bundle: true, format: "esm", target: ["es2020"], minify: !dev, legalComments: "eof", logLevel: "info" };

/** Each runtime bundled to text, with the hash that tells builds apart on one page. */
async function buildRuntimes() {
  const sources = {};
  for (const [name, entry] of Object.entries(RUNTIMES)) {
    const result = await esbuild.build({ ...common, entryPoints: [join(here, entry)], write: false, logLevel: "warning" });
    const source = result.outputFiles[0].text;
    sources[name] = { source, hash: createHash("sha256").update(source).digest("hex").slice(0, 16) };
  }
  return sources;
}

/** @param {Record<string, { source: string, hash: string }>} runtimes */
const inlineRuntimes = (runtimes) => ({
  name: "runtimes",
  setup(build) {
    build.onResolve({ filter: /^runtime:/ }, (args) => ({ path: args.path.slice(8), namespace: "runtime" }));
    build.onLoad({ filter: /.*/, namespace: "runtime" }, (args) => {
      if (!runtimes[args.path]) return { errors: [{ text: `no runtime named ${args.path}` }] };
      return { contents: `export default ${JSON.stringify(runtimes[args.path])};`, loader: "js" };
    });
  },
});

await mkdir(outdir, { recursive: true });
const runtimes = await buildRuntimes();
await Promise.all([
  esbuild.build({
    ...common,
    entryPoints: Object.fromEntries(WIDGETS.map((w) => [w, join(here, "src", `${w}.js`)])),
    outdir,
    splitting: false, // anywidget loads each _esm on its own: no shared chunks
    sourcemap: dev ? "inline" : false,
    plugins: [inlineRuntimes(runtimes)],
  }),
  esbuild.build({
    entryPoints: { nbrealtime: join(here, "src", "styles", "index.css") },
    outdir,
    bundle: true,
    minify: !dev,
    logLevel: "info",
  }),
]);
for (const [name, { source }] of Object.entries(runtimes)) {
  console.log(`runtime ${name.padEnd(40)} ${(source.length / 1024).toFixed(1).padStart(7)} KB`);
}
for (const name of [...WIDGETS.map((w) => `${w}.js`), "nbrealtime.css"]) {
  const { size } = await stat(join(outdir, name));
  console.log(`${relative(process.cwd(), join(outdir, name)).padEnd(48)} ${(size / 1024).toFixed(1).padStart(7)} KB`);
}
