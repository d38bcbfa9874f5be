// Time-series charts on uPlot, sized to their container and resized with it.
import uPlot from 'uplot';
import { h } from './dom';

export interface SeriesSpec { label: string; color: string; values: (number | null)[];
  fill?: boolean; fmt?: (v: number) => string }

const live = new Set<uPlot>();

// Destroys every chart (before a view re-renders).
export function destroyCharts(): void {
  for (const c of live) c.destroy();
  live.clear();
}

export function timeChart(title: string, t: number[], series: SeriesSpec[],
  yLabel: string, testid: string): HTMLElement {
  const box = h('div', { class: 'chart', 'data-testid': testid, role: 'img', 'aria-label': title });
  const opts: uPlot.Options = {
    width: 600,
    height: 220,
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      { stroke: '#5b6472', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#d8dce2' } },
      { stroke: '#5b6472', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#d8dce2' },
        label: yLabel, size: 56 },
    ],
    series: [
      {},
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        fill: s.fill ? `${s.color}22` : undefined,
        spanGaps: false,
        // Points too: a lone bucket between empty ones has no line to draw.
        points: { show: true, size: 5, fill: s.color },
        value: (_u: uPlot, v: number | null) => (v === null ? '–' : s.fmt ? s.fmt(v) : String(v)),
      })),
    ],
  };
  const data = [t, ...series.map((s) => s.values)] as uPlot.AlignedData;
  // Created once the box is in the page, so it can take the box's width.
  requestAnimationFrame(() => {
    if (!box.isConnected) return;
    opts.width = Math.max(280, box.clientWidth);
    const chart = new uPlot(opts, data, box);
    live.add(chart);
    const ro = new ResizeObserver(() => {
      if (!box.isConnected) {
        ro.disconnect();
        return;
      }
      chart.setSize({ width: Math.max(280, box.clientWidth), height: 220 });
    });
    ro.observe(box);
  });
  return box;
}
