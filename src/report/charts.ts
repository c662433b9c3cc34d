/** Charts: self-contained SVG line charts (no scripts), one per learning curve. */
import { esc } from './html';

export interface Series {
  name: string;
  points: Array<[number, number]>;
  color: string;
  /** SVG stroke-dasharray: tells apart lines that may lie on top of each other */
  dash?: string;
}

export interface ChartOptions {
  /** x is a count (batches, metric calls): ticks at whole numbers only */
  integerX?: boolean;
  /** labelled vertical lines, e.g. where each phase of an alternation starts */
  markers?: Array<{ x: number; label: string }>;
}

const W = 560, H = 260, L = 50, R = 10, T = 20, B = 40;

function downsample(points: Array<[number, number]>, max = 2000): Array<[number, number]> {
  if (points.length <= max) return points;
  const step = points.length / max;
  return Array.from({ length: max }, (_, i) => points[Math.floor(i * step)]);
}

/** About five tick values over [x0, x1]: whole numbers when `integer`, else quarters of the range. */
function xTicks(x0: number, x1: number, integer: boolean): number[] {
  if (!integer) return [0, 0.25, 0.5, 0.75, 1].map((f) => x0 + f * (x1 - x0));
  const span = Math.max(1, x1 - x0);
  const raw = span / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * mag).find((m) => m >= raw) ?? 10 * mag);
  const out: number[] = [];
  for (let x = Math.ceil(x0 / step) * step; x <= x1; x += step) out.push(x);
  return out;
}

/** Data coordinates to SVG coordinates over the chart's ranges (y always includes 0). */
function scales(series: Series[], opts: ChartOptions) {
  const all = series.flatMap((s) => s.points);
  const xs = [...all.map((p) => p[0]), ...(opts.markers ?? []).map((m) => m.x)], ys = all.map((p) => p[1]);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(0, ...ys), Math.max(...ys)];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const sx = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y: number) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
  return { x0, x1, y0, y1, sx, sy };
}

type Scales = ReturnType<typeof scales>;

function axes({ x0, x1, y0, y1, sx, sy }: Scales, opts: ChartOptions): string {
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const yv = y0 + f * (y1 - y0);
    return `<line x1="${L}" x2="${W - R}" y1="${sy(yv)}" y2="${sy(yv)}" class="grid"/><text x="${L - 4}" y="${sy(yv) + 4}" text-anchor="end">${+yv.toFixed(3)}</text>`;
  });
  const xTickMarks = xTicks(x0, x1, Boolean(opts.integerX)).map(
    (xv) => `<text class="xtick" x="${sx(xv)}" y="${H - B + 16}" text-anchor="middle">${opts.integerX ? Math.round(xv) : +xv.toFixed(1)}</text>`,
  );
  // labels alternate between two rows so the names of short phases do not overprint each other
  const markers = (opts.markers ?? []).map(
    (m, i) =>
      `<g class="marker"><line x1="${sx(m.x)}" x2="${sx(m.x)}" y1="${T}" y2="${H - B}" stroke="#bbb" stroke-dasharray="2 3"/><text x="${sx(m.x) + 3}" y="${T + 10 + (i % 2) * 12}" class="marker-label">${esc(m.label)}</text></g>`,
  );
  return `${yTicks.join('')}${markers.join('')}${xTickMarks.join('')}<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" class="axis"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" class="axis"/>`;
}

function seriesLine(s: Series, { sx, sy }: Scales): string {
  const pts = downsample(s.points).map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
  // dashed series get hollow square markers, solid ones filled dots, so both stay visible when they coincide
  const dot = ([x, y]: [number, number]) =>
    s.dash
      ? `<rect x="${(sx(x) - 3).toFixed(1)}" y="${(sy(y) - 3).toFixed(1)}" width="6" height="6" fill="#fff" stroke="${s.color}" stroke-width="1.5"/>`
      : `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`;
  const dots = s.points.length <= 60 ? downsample(s.points).map(dot).join('') : '';
  return `<polyline data-series="${esc(s.name)}" points="${pts}" fill="none" stroke="${s.color}" stroke-width="${s.dash ? 2 : 3}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>${dots}`;
}

function legend(series: Series[]): string {
  return series
    .map(
      (s, i) =>
        `<line x1="${L + 10 + i * 150}" x2="${L + 30 + i * 150}" y1="9" y2="9" stroke="${s.color}" stroke-width="${s.dash ? 2 : 3}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/><text x="${L + 34 + i * 150}" y="13">${esc(s.name)}</text>`,
    )
    .join('');
}

export function lineChart(id: string, title: string, xLabel: string, series: Series[], opts: ChartOptions = {}): string {
  if (!series.some((s) => s.points.length)) return `<div class="chart" data-chart="${id}"><h3>${esc(title)}</h3><p class="empty">no data</p></div>`;
  const sc = scales(series, opts);
  const lines = series.filter((s) => s.points.length).map((s) => seriesLine(s, sc));
  return `<div class="chart"><h3>${esc(title)}</h3><svg data-chart="${id}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${axes(sc, opts)}${lines.join('')}${legend(series)}<text x="${(W + L) / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text></svg></div>`;
}
