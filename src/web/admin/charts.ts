/**
 * The overview's charts: one small bar chart per figure (accepted, delivered, deferred,
 * bounced) over the last hours, drawn on the server as inline SVG from the store's hourly
 * counts. No script and nothing fetched: the page is complete as sent. For screen readers
 * each chart is an image with a sentence naming its total and busiest hour, and the numbers
 * behind it are in a table under "Numbers".
 */
import type { HourlyCount } from '../../store/store.js';
import { html, type SafeHtml } from '../html.js';

export const HOUR = 3_600_000;
export const CHART_HOURS = 24;

export type Series = 'accepted' | 'delivered' | 'deferred' | 'bounced';

export const SERIES: Array<{ key: Series; title: string; one: string; many: string }> = [
  { key: 'accepted', title: 'Accepted', one: 'message accepted', many: 'messages accepted' },
  { key: 'delivered', title: 'Delivered', one: 'recipient delivered', many: 'recipients delivered' },
  { key: 'deferred', title: 'Deferred', one: 'attempt deferred', many: 'attempts deferred' },
  { key: 'bounced', title: 'Bounced', one: 'recipient bounced', many: 'recipients bounced' },
];

/** The first hour shown, so that the last bar is the hour now running. */
export function chartStart(now: number): number {
  return Math.floor(now / HOUR) * HOUR - (CHART_HOURS - 1) * HOUR;
}

/** One value per hour from `start`, zero where the store had nothing. */
export function perHour(counts: HourlyCount[], start: number, key: Series): number[] {
  const out = new Array<number>(CHART_HOURS).fill(0);
  for (const c of counts) {
    const i = Math.round((c.hour - start) / HOUR);
    if (i >= 0 && i < CHART_HOURS) out[i] = c[key];
  }
  return out;
}

const hh = (t: number) => new Date(t).toISOString().slice(11, 16);

// Drawing area inside the viewBox.
const W = 480;
const H = 170;
const LEFT = 36;
const RIGHT = 8;
const TOP = 12;
const BASE = 140;

export function barChart(key: Series, values: number[], start: number): SafeHtml {
  const s = SERIES.find((x) => x.key === key)!;
  const total = values.reduce((a, b) => a + b, 0);
  const max = Math.max(...values);
  const busiest = values.indexOf(max);
  const summary =
    total === 0
      ? `${s.title}: none in the last ${CHART_HOURS} hours.`
      : `${s.title}: ${total} ${total === 1 ? s.one : s.many} in the last ${CHART_HOURS} hours; ` +
        `most in the hour from ${hh(start + busiest * HOUR)} UTC (${max}).`;
  const slot = (W - LEFT - RIGHT) / CHART_HOURS;
  const barW = Math.max(2, Math.round(slot * 0.7));
  const scale = max > 0 ? (BASE - TOP) / max : 0;
  // Empty hours get no bar; the numbers table still lists them.
  const bars = values.map((n, i) => {
    if (n === 0) return '';
    const h = Math.max(1, Math.round(n * scale));
    const x = Math.round(LEFT + i * slot + (slot - barW) / 2);
    const label = `${hh(start + i * HOUR)} UTC: ${n}`;
    return html`<rect class="bar" x="${x}" y="${BASE - h}" width="${barW}" height="${h}"><title>${label}</title></rect>`;
  });
  const ticks = values.map((_, i) =>
    i % 6 === 0
      ? html`<text class="tick" x="${Math.round(LEFT + i * slot + slot / 2)}" y="${BASE + 18}" text-anchor="middle">${hh(start + i * HOUR)}</text>`
      : '',
  );
  const id = `chart-${key}`;
  return html`<figure class="chart chart-${key}" id="${id}">
  <figcaption id="${id}-caption">${s.title} <span class="chart-total">(${total})</span></figcaption>
  <svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${summary}" focusable="false" preserveAspectRatio="xMidYMid meet">
    <line class="axis" x1="${LEFT}" y1="${BASE}" x2="${W - RIGHT}" y2="${BASE}"></line>
    ${max > 0 ? html`<text class="tick" x="${LEFT - 6}" y="${TOP + 4}" text-anchor="end">${max}</text>` : ''}
    <text class="tick" x="${LEFT - 6}" y="${BASE}" text-anchor="end">0</text>
    ${bars}
    ${ticks}
  </svg>
  <details>
    <summary>Numbers <span class="visually-hidden">for ${s.title}</span></summary>
    <table>
      <thead><tr><th scope="col">Hour (UTC)</th><th scope="col">${s.title}</th></tr></thead>
      <tbody>
        ${values.map((n, i) => html`<tr><th scope="row">${hh(start + i * HOUR)}</th><td>${n}</td></tr>`)}
      </tbody>
    </table>
  </details>
</figure>`;
}

export function charts(counts: HourlyCount[], now: number): SafeHtml {
  const start = chartStart(now);
  return html`<div class="charts">
  ${SERIES.map((s) => barChart(s.key, perHour(counts, start, s.key), start))}
</div>`;
}
