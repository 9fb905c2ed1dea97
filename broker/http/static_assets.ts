/**
 * The dashboard's static files: plain HTML, CSS and an ES module, plus uPlot
 * (npm `uplot`) served as a module, all embedded at load time through text
 * imports, so the dashboard needs no build step and no file reads at run time.
 *
 * @module
 */

import indexHtml from "./static/index.html" with { type: "text" };
import appJs from "./static/app.js" with { type: "text" };
import styleCss from "./static/style.css" with { type: "text" };
import uplotJs from "uplot/dist/uPlot.esm.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };

/** A served file. */
export interface StaticAsset {
  /** File contents. */
  readonly body: string;
  /** Its `Content-Type`. */
  readonly contentType: string;
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

const ASSETS: ReadonlyMap<string, StaticAsset> = new Map([
  ["/", { body: indexHtml, contentType: "text/html; charset=utf-8" }],
  ["/app.js", { body: appJs, contentType: JS }],
  ["/style.css", { body: styleCss, contentType: CSS }],
  ["/vendor/uPlot.esm.js", { body: uplotJs, contentType: JS }],
  ["/vendor/uPlot.min.css", { body: uplotCss, contentType: CSS }],
]);

/**
 * The asset served at a path.
 *
 * @param path URL path, e.g. `/app.js`.
 * @returns The asset, or undefined for an unknown path.
 */
export function staticAsset(path: string): StaticAsset | undefined {
  return ASSETS.get(path === "/index.html" ? "/" : path);
}
