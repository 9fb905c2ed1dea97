/**
 * The broker's version, as reported by the dashboard and GET_BROKER_RUNTIME_INFO
 * (kept equal to `version` in deno.json; a test pins them together).
 *
 * @module
 */

/** The broker's version. */
export const BROKER_VERSION = "0.1.0";
