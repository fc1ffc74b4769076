import type { RebuildProgress } from '../projector/rebuild.ts';

/** One line, redrawn in place on a terminal and printed every few seconds otherwise. */
export function progressBar(label: string, out: NodeJS.WriteStream = process.stderr): (p: RebuildProgress) => void {
  let lastPrinted = 0;
  return (p) => {
    const now = Date.now();
    if (out.isTTY ? now - lastPrinted < 100 && p.phase === 'replaying' : now - lastPrinted < 2_000 && p.phase === 'replaying') return;
    lastPrinted = now;
    const fraction = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
    const width = 30;
    const bar = '█'.repeat(Math.round(fraction * width)).padEnd(width, '░');
    const eta = p.eventsPerSecond > 0 ? Math.max(0, (p.total - p.done) / p.eventsPerSecond) : 0;
    const line = `${label} ${bar} ${(fraction * 100).toFixed(1).padStart(5)}%  ${p.done.toLocaleString('en')}/${p.total.toLocaleString('en')} events  ` +
      `${Math.round(p.eventsPerSecond).toLocaleString('en')} ev/s  ETA ${eta.toFixed(0)}s  ${p.phase}`;
    out.write(out.isTTY ? `\r${line}\x1b[K${p.phase === 'done' ? '\n' : ''}` : `${line}\n`);
  };
}
