/**
 * chart.js, registered once: every chart type the studio draws, decimation
 * for long series, zoom on the round axis, and a background fill so a saved
 * PNG looks like the screen in either theme.
 */
import { Chart, registerables, type Plugin } from 'chart.js';
import zoomPlugin from 'chartjs-plugin-zoom';
import { theme } from '../lib/theme.svelte.js';

const background: Plugin = {
  id: 'studioBackground',
  beforeDraw(chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = theme.colors.surface;
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

Chart.register(...registerables, zoomPlugin, background);

export function applyThemeDefaults(): void {
  Chart.defaults.color = theme.colors.fg;
  Chart.defaults.borderColor = theme.colors.grid;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
}
applyThemeDefaults();

export { Chart };
