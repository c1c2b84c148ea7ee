// Builds gateway/static/govuk from the pinned npm packages: `npm ci && npm run build`.
// The outputs are committed, so `./run up` needs neither Node nor npm.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const out = join(here, "govuk");
const dist = join(root, "node_modules", "govuk-frontend", "dist", "govuk");
mkdirSync(out, { recursive: true });

const css = sass.compile(join(here, "src", "gateway.scss"), {
  style: "compressed",
  importers: [new sass.NodePackageImporter(root)],
  quietDeps: true,
  silenceDeprecations: ["import"],
});
writeFileSync(join(out, "gateway.css"), css.css);
copyFileSync(join(dist, "govuk-frontend.min.js"), join(out, "govuk-frontend.min.js"));
console.log("built", join(out, "gateway.css"));
