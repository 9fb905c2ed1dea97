/**
 * RocketMQ 4's delay levels (`messageDelayLevel`): the `DELAY` property's
 * 18 fixed delays, also the retry back-off ladder. Shared by the broker's
 * timer (level → due time) and the client's pop-mode retry (level →
 * invisible time).
 *
 * @module
 */

/** Delay of each level 1..18, ms; index = level − 1. */
export const DELAY_LEVEL_MS: readonly number[] = Object.freeze([
  1_000,
  5_000,
  10_000,
  30_000,
  60_000,
  120_000,
  180_000,
  240_000,
  300_000,
  360_000,
  420_000,
  480_000,
  540_000,
  600_000,
  1_200_000,
  1_800_000,
  3_600_000,
  7_200_000,
]);
