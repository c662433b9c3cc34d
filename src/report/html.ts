/** HTML text helpers shared by the report's parts. */

export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A finite number to 4 decimals; anything else as an empty cell. */
export const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? +v.toFixed(4) : '');
