// Progressive enhancement only: every page works without this file (issue 6).
// The class GOV.UK Frontend checks before it starts its components; set here rather than in an
// inline script, because the Content-Security-Policy allows scripts from this site only.
import { initAll } from "../govuk/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

// The post and emergency forms check the post while the officer types (issue 22, item 3).
if (document.querySelector("form[data-live-check]")) {
  import("./live-check.mjs");
}
