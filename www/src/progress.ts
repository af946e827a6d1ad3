// How long a sync has left, from how fast it went so far. No DOM: tests load it as it is.

/**
 * `about 40 s left` (or `about 3 min left`) for `done` of `total` records after `spentMs`;
 * empty until there is a rate to go by (a second and a record in) or when nothing is left.
 */
export function timeLeft(done: number, total: number, spentMs: number): string {
  if (done <= 0 || done >= total || spentMs < 1000) return '';
  const s = Math.ceil(((spentMs / done) * (total - done)) / 1000);
  return s < 90 ? `about ${s} s left` : `about ${Math.round(s / 60)} min left`;
}
