// Builds the browser apps into the Python package (src/passerelle/web/), where `passerelle serve`
// finds them: app.js (the page's ES module bundle), crypto-worker.js (the worker that holds the keys
// and runs Olm/Megolm), app.css, olm.wasm and the page template index.html.
//   npm ci && npm run build      rebuild the committed assets
//   npm run check                rebuild into a temporary folder and fail when the committed assets differ
import { build } from "esbuild";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const committed = join(here, "..", "src", "passerelle", "web");
const check = process.argv.includes("--check");
const out = check ? mkdtempSync(join(tmpdir(), "passerelle-web-")) : committed;
const FILES = ["app.js", "crypto-worker.js", "app.css", "olm.wasm", "index.html", "api-docs.js"];
// The interactive API docs (/docs): Swagger UI as npm's swagger-ui-dist publishes it, copied as is.
const SWAGGER = ["swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"];
const SWAGGER_LICENSE = "swagger-ui.LICENSE";
FILES.push(...SWAGGER, SWAGGER_LICENSE);

mkdirSync(out, { recursive: true });
const common = { bundle: true, minify: true, legalComments: "eof", logLevel: "warning", charset: "utf8" };
await build({
  ...common,
  entryPoints: [join(here, "src", "main.js")],
  outfile: join(out, "app.js"),
  format: "esm",
  target: "es2022",
  platform: "browser",
});
await build({
  ...common,
  entryPoints: [join(here, "src", "crypto-worker.js")],
  outfile: join(out, "crypto-worker.js"),
  format: "esm",
  target: "es2022",
  platform: "browser",
});
await build({ ...common, entryPoints: [join(here, "src", "app.css")], outfile: join(out, "app.css") });
copyFileSync(join(here, "node_modules", "@towns-protocol", "olm", "olm.wasm"), join(out, "olm.wasm"));
copyFileSync(join(here, "index.html"), join(out, "index.html"));
copyFileSync(join(here, "src", "api-docs.js"), join(out, "api-docs.js"));
const swagger = join(here, "node_modules", "swagger-ui-dist");
for (const name of SWAGGER) copyFileSync(join(swagger, name), join(out, name));
copyFileSync(join(swagger, "LICENSE"), join(out, SWAGGER_LICENSE));

if (check) {
  const stale = FILES.filter((name) => {
    try {
      return !readFileSync(join(out, name)).equals(readFileSync(join(committed, name)));
    } catch {
      return true;
    }
  });
  const extra = readdirSync(committed).filter((n) => !FILES.includes(n) && n !== "README.md");
  rmSync(out, { recursive: true, force: true });
  if (stale.length || extra.length) {
    console.error(`the committed web build is stale: ${[...stale, ...extra].join(", ")}; run: cd web && npm ci && npm run build`);
    process.exit(1);
  }
  console.log("the committed web build matches the sources");
} else {
  for (const name of FILES) console.log(`${name}\t${readFileSync(join(out, name)).length} bytes`);
}
