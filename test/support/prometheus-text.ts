/** One scrape of a Prometheus text page: `value(name, labels)` sums the series whose labels include `labels`. */
export interface Scrape {
  value(name: string, labels?: Record<string, string>): number;
  has(name: string): boolean;
  text: string;
}

const SERIES = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseScrape(text: string): Scrape {
  const series = text.split('\n').filter((line) => line && !line.startsWith('#')).map((line) => {
    const match = SERIES.exec(line);
    if (!match) throw new Error(`not a Prometheus series line: ${line}`);
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(LABEL)].map((m) => [m[1]!, m[2]!]));
    return { name: match[1]!, labels, value: Number(match[3]) };
  });
  return {
    text,
    has: (name) => series.some((s) => s.name === name),
    value: (name, labels = {}) => series
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0),
  };
}

export async function scrape(baseUrl: string): Promise<Scrape> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${await res.text()}`);
  return parseScrape(await res.text());
}
