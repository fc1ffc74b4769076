import autocannon from 'autocannon';

export interface LoadResult {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
  errors: number;
}

/** One autocannon run; `headersFor(i)` lets each request carry a different user's token. */
export async function load(
  name: string,
  url: string,
  options: { method: 'GET' | 'POST'; connections: number; seconds: number; headersFor?: (i: number) => Record<string, string> },
): Promise<LoadResult> {
  let i = 0;
  const result = await autocannon({
    url,
    method: options.method,
    connections: options.connections,
    duration: options.seconds,
    requests: [
      {
        setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...options.headersFor?.(i++) } }),
      },
    ],
  });
  const statuses: Record<string, number> = {};
  for (const [code, count] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = (count as { count: number }).count;
  return {
    name,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    statuses,
    errors: result.errors + result.timeouts,
  };
}
