/**
 * How a long-running process is started (`npm start`, the Dockerfile's CMD, the tests' and benches' app
 * processes; a unit test holds the first two to this list). Node 24 lets V8's young generation grow to 128 MiB
 * and the old space to about four times what is live, and glibc gives each thread a malloc arena of its own: after
 * the storms of `npm run bench:soak` an all-roles process held 512–563 MiB, of which 57 MiB was live heap. With
 * these it holds about 300 MiB under the same storms and stays flat under mixed load, for a few µs of CPU per
 * request more (README, "Memory").
 */
export const MEMORY_FLAGS = ['--max-semi-space-size=16', '--heap-growing-percent=100'] as const;
export const MEMORY_ENV = { MALLOC_ARENA_MAX: '2' } as const;
