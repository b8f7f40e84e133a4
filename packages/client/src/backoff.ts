/** Full-jitter exponential backoff (AWS architecture blog, "Exponential Backoff And Jitter"). */

/** Upper bound of the backoff window for `attempt` (0-based): `min(max, min * factor^attempt)`. */
export function backoffCap(
  attempt: number,
  o: { minDelayMs: number; maxDelayMs: number; factor: number },
): number {
  return Math.min(o.maxDelayMs, o.minDelayMs * o.factor ** Math.max(0, attempt));
}

/** A delay drawn uniformly from `[0, backoffCap(attempt))`. */
export function backoffDelay(
  attempt: number,
  o: { minDelayMs: number; maxDelayMs: number; factor: number },
  random: () => number,
): number {
  return Math.floor(random() * backoffCap(attempt, o));
}
