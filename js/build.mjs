// Bundle each widget view into one self-contained ESM file in src/nbrealtime/static/, plus the shared stylesheet.
// Usage: node build.mjs [--watch] [--dev]
import * as esbuild from "esbuild";
import { mkdir, stat } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, "..", "src", "nbrealtime", "static");
export const WIDGETS = ["presence", "notifications", "table", "conflicts", "sync", "editor", "share"];

const watch = process.argv.includes("--watch");
const dev = process.argv.includes("--dev") || watch;

/** @type {import("esbuild").BuildOptions[]} */
const builds = [
  {
    entryPoints: Object.fromEntries(WIDGETS.map((w) => [w, join(here, "src", `${w}.js`)])),
    outdir,
    bundle: true,
    format: "esm",
    splitting: false, // anywidget loads each _esm on its own: no shared chunks
    target: ["es2020"],
    minify: !dev,
    sourcemap: dev ? "inline" : false,
    legalComments: "eof",
    logLevel: "info",
  },
  {
    entryPoints: { nbrealtime: join(here, "src", "styles", "index.css") },
    outdir,
    bundle: true,
    minify: !dev,
    logLevel: "info",
  },
];

await mkdir(outdir, { recursive: true });
if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
  for (const name of [...WIDGETS.map((w) => `${w}.js`), "nbrealtime.css"]) {
    const { size } = await stat(join(outdir, name));
    console.log(`${relative(process.cwd(), join(outdir, name)).padEnd(48)} ${(size / 1024).toFixed(1).padStart(7)} KB`);
  }
}
