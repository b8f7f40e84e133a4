/** Hand-written SVG line charts (no chart library): latency CDF and throughput ramp. */

export interface Series {
  name: string;
  points: { x: number; y: number; hollow?: boolean }[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function niceTicks(min: number, max: number, n = 5): number[] {
  const span = max - min || 1;
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step)
    out.push(+v.toPrecision(12));
  return out;
}

const fmt = (v: number) =>
  Math.abs(v) >= 1000 ? `${+(v / 1000).toPrecision(3)}k` : `${+v.toPrecision(3)}`;

export function lineChart(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  logY?: boolean;
  yMin?: number;
  yMax?: number;
  /** A dashed horizontal reference line (e.g. a latency budget). */
  hline?: { y: number; label: string };
}): string {
  const W = 760;
  const H = 420;
  const L = 70;
  const R = 170;
  const T = 40;
  const B = 55;
  const pts = o.series
    .flatMap((s) => s.points)
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const tx = (x: number) => (o.logX ? Math.log10(Math.max(x, 1e-3)) : x);
  let x0 = Math.min(...pts.map((p) => tx(p.x)));
  let x1 = Math.max(...pts.map((p) => tx(p.x)));
  if (!Number.isFinite(x0)) {
    x0 = 0;
    x1 = 1;
  }
  if (x0 === x1) x1 = x0 + 1;
  const ty = (y: number) => (o.logY ? Math.log10(Math.max(y, 1e-3)) : y);
  const ys = pts.map((p) => ty(p.y));
  if (o.hline) ys.push(ty(o.hline.y));
  let y0 = o.yMin ?? (o.logY ? Math.floor(Math.min(...ys)) : Math.min(0, ...ys));
  let y1 = o.yMax ?? (o.logY ? Math.ceil(Math.max(...ys)) : Math.max(...ys, 1) * 1.05);
  if (!Number.isFinite(y0) || !Number.isFinite(y1)) {
    y0 = 0;
    y1 = 1;
  }
  if (y1 === y0) y1 = y0 + 1;
  const sx = (x: number) => L + ((tx(x) - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y: number) => H - B - ((ty(y) - y0) / (y1 - y0)) * (H - T - B);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2 - R / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
  ];
  // axes and grid
  const xt: number[] = [];
  if (o.logX) {
    for (let e = Math.floor(x0); e <= Math.ceil(x1); e++) {
      for (const m of x1 - x0 > 3 ? [1] : [1, 2, 5]) xt.push(+(m * 10 ** e).toPrecision(6));
    }
  } else xt.push(...niceTicks(x0, x1));
  for (const v of xt) {
    if (tx(v) < x0 - 1e-9 || tx(v) > x1 + 1e-9) continue;
    const x = sx(v);
    parts.push(`<line x1="${x}" y1="${T}" x2="${x}" y2="${H - B}" stroke="#eee"/>`);
    parts.push(`<text x="${x}" y="${H - B + 16}" text-anchor="middle">${fmt(v)}</text>`);
  }
  const yt: number[] = [];
  if (o.logY)
    for (let e = Math.floor(y0); e <= Math.ceil(y1); e++) yt.push(+(10 ** e).toPrecision(6));
  else yt.push(...niceTicks(y0, y1));
  for (const v of yt) {
    if (ty(v) < y0 - 1e-9 || ty(v) > y1 + 1e-9) continue;
    const y = sy(v);
    parts.push(`<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${L - 6}" y="${y + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  parts.push(
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<text x="16" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(T + H - B) / 2})">${esc(o.yLabel)}</text>`,
  );
  if (o.hline) {
    const y = sy(o.hline.y);
    parts.push(
      `<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#888" stroke-dasharray="6 4"/>`,
      `<text x="${W - R - 4}" y="${y - 5}" text-anchor="end" fill="#666">${esc(o.hline.label)}</text>`,
    );
  }
  o.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const ps = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (ps.length) {
      const d = ps
        .map((p, j) => `${j ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
        .join('');
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
      if (ps.length <= 40) {
        for (const p of ps) {
          parts.push(
            `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3.5" fill="${p.hollow ? '#fff' : color}" stroke="${color}" stroke-width="1.5"/>`,
          );
        }
      }
    }
    const ly = T + 10 + i * 20;
    parts.push(
      `<line x1="${W - R + 15}" y1="${ly}" x2="${W - R + 40}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${W - R + 46}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
